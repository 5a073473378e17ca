"""Service icons, served by the platform: a catalog connector has one in
services/static/services/icons/<slug>.svg. The icon URLs of the catalog and of custom services point
to other hosts, which the pages and the admin never load: everything else gets a monogram (its
initial). The icon is decorative: the service's name is always written next to it."""

import functools

from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html

from services.models import Service, ServiceSource


@functools.cache
def _local_icon(slug: str) -> str | None:
    path = f"services/icons/{slug}.svg"
    return static(path) if finders.find(path) else None


def service_icon_url(service: Service) -> str | None:
    """The address of the service's icon on this platform, or None (then show its initial)."""
    return _local_icon(service.slug) if service.source == ServiceSource.CONNECTOR else None


def service_icon_html(service: Service, *, size: int = 24) -> str:
    local = service_icon_url(service)
    if local:
        return format_html(
            '<img class="service-icon" src="{}" alt="" width="{}" height="{}">', local, size, size
        )
    initial = (service.name or "?").strip()[:1].upper() or "?"
    return format_html(
        '<span class="service-icon service-icon--monogram" aria-hidden="true">{}</span>', initial
    )
