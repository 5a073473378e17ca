"""How the admin's lists and detail pages show values, the same way as the member pages: statuses
as badges (pages/badges.py), times in the viewer's zone with the zone named (pages/time_zones.py),
and long text cut to one line with the full text on hover (and on the detail page, where the
admin shows the whole field)."""

from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html

from pages.templatetags.page_tags import local_time, status_badge

EMPTY = "—"
# Admin lists that pages link to with filters.
AUTHS = "admin:auths_authentication_changelist"
DELIVERIES = "admin:events_webhookdelivery_changelist"


def changelist(name: str, filters: dict) -> str:
    """The admin list `name` narrowed by changelist lookups (e.g. {"status__exact": "error"})."""
    return f"{reverse(name)}?{urlencode({k: str(v) for k, v in filters.items()})}"


def badge(value: str) -> str:
    return status_badge(value) if value else EMPTY


def when(moment: datetime | None) -> str:
    return local_time(moment) if moment else EMPTY


def truncated(text: str | None) -> str:
    if not text:
        return EMPTY
    return format_html('<span class="cell-truncated" title="{}">{}</span>', text, text)
