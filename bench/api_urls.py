"""The production URLs plus the API benchmark's baseline (bench/api.py): a DRF view with the same
API-key authentication and permission as every tenant view, returning static JSON. Loaded only by
bench/api_settings.py, never by the platform."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as platform_urlpatterns
from workspaces.scoping import IsAuthenticatedOrApiKey

STATIC_BODY = {"count": 1, "next": None, "previous": None, "results": [{"id": 1, "name": "static"}]}


class StaticView(APIView):
    """The floor of an API read: authentication (API key), permission, throttling and rendering,
    no query of our own."""

    permission_classes = [IsAuthenticatedOrApiKey]

    def get(self, request):
        return Response(STATIC_BODY)


urlpatterns = [
    path("bench/static/", StaticView.as_view(), name="bench-static"),
    *platform_urlpatterns,
]
