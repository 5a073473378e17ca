"""Template helpers of the Connections and Services pages: `{% load connection_tags %}`.

- `{% service_icon service %}`: the service's icon, served by the platform (services/icons.py): a
  catalog connector's own image, a monogram (its initial) for everything else.
"""

from django import template

from services.icons import service_icon_html

register = template.Library()


@register.simple_tag
def service_icon(service):
    return service_icon_html(service)
