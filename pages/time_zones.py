"""Times are shown in the viewer's time zone, with the zone named ("2026-03-01 14:05 UTC").

The User model has no time zone field, so a person's choice is kept in a cookie (set on the member
home page, pages/views.py: time_zone); without it, settings.TIME_ZONE. Nothing is guessed from the
browser: the same person sees the same times on every device they chose the zone on, and a page
never needs a script to show a time.
"""

import functools
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.utils import timezone

COOKIE = "time_zone"
COOKIE_MAX_AGE = 365 * 24 * 3600


@functools.cache
def known_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_from_cookie(value: str | None) -> zoneinfo.ZoneInfo:
    if value and value in known_zones():
        return zoneinfo.ZoneInfo(value)
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def zone_name(moment: datetime) -> str:
    """The zone of an aware datetime as a person reads it: "UTC", "CET (Europe/Paris)", or the
    zone's key alone where its abbreviation is only an offset ("+03")."""
    abbreviation = moment.tzname() or ""
    key = getattr(moment.tzinfo, "key", "") or abbreviation
    if not abbreviation.isalpha() or abbreviation == key:
        return key
    return f"{abbreviation} ({key})"


def local_time_text(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M} {zone_name(local)}"
