"""Template helpers of the pages: `{% load page_tags %}`.

- `{{ moment|local_time }}`: a datetime in the viewer's zone, zone named, in a <time> element.
- `{% status_badge value %}` / `{% badge text tone %}`: a status as words, symbol and colour.
- `{% field_widget field %}`: a form field's widget described by its help text and errors (the
  include templates/includes/field.html uses it).
"""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from pages.badges import SYMBOLS, badge_for
from pages.time_zones import local_time_text

register = template.Library()


@register.filter
def local_time(moment):
    if not isinstance(moment, datetime):
        return "" if moment is None else moment
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return format_html(
        '<time datetime="{}">{}</time>',
        moment.astimezone(UTC).isoformat(timespec="seconds"),
        local_time_text(moment),
    )


@register.simple_tag
def badge(text, tone="neutral"):
    tone = tone if tone in SYMBOLS else "neutral"
    return format_html(
        '<span class="badge badge--{}"><span class="badge__symbol" aria-hidden="true">{}</span> '
        "{}</span>",
        tone,
        SYMBOLS[tone],
        text,
    )


@register.simple_tag
def status_badge(value):
    text, tone = badge_for(value)
    return badge(text, tone)


@register.simple_tag
def field_widget(field):
    """The widget, with aria-describedby naming its help text and its errors (ids made by
    includes/field.html) and aria-invalid when it has errors."""
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}_errors")
    attrs = {"aria-describedby": " ".join(described_by)} if described_by else {}
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.filter
def minutes(duration):
    """A timedelta as whole minutes (the lockout page)."""
    return int(duration.total_seconds() // 60)
