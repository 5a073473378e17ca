"""Template helpers of the Connections and Services pages: `{% load connection_tags %}`.

- `{% service_icon service %}`: the service's icon, served by the platform. A catalog connector has
  one in services/static/services/icons/<slug>.svg; the icon URLs of the catalog and of custom
  services point to other hosts, which the pages never load, so everything else gets a monogram
  (its initial). The icon is decorative: the service's name is always written next to it.
"""

import functools

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html

from services.models import ServiceSource

register = template.Library()


@functools.cache
def _local_icon(slug: str) -> str | None:
    path = f"services/icons/{slug}.svg"
    return static(path) if finders.find(path) else None


@register.simple_tag
def service_icon(service):
    local = _local_icon(service.slug) if service.source == ServiceSource.CONNECTOR else None
    if local:
        return format_html(
            '<img class="service-icon" src="{}" alt="" width="24" height="24">', local
        )
    initial = (service.name or "?").strip()[:1].upper() or "?"
    return format_html(
        '<span class="service-icon service-icon--monogram" aria-hidden="true">{}</span>', initial
    )
