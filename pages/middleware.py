"""Every request runs in its viewer's time zone (pages/time_zones.py), so templates, the admin
and forms show local times."""

from django.utils import timezone

from pages.time_zones import COOKIE, zone_from_cookie


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(zone_from_cookie(request.COOKIES.get(COOKIE)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
