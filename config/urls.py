from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from embedded.urls import browser_urlpatterns as embedded_browser_urlpatterns
from workspaces.scoping import dangerously_unscoped


def health(request):
    """Liveness for load balancers and docker-compose: touches no tenant data."""
    return JsonResponse({"status": "ok"})


PUBLIC = "public: touches no tenant data"


api_urlpatterns = [
    path("", include("workspaces.urls")),
    path("", include("services.urls")),
    path("", include("connections.urls")),
    path("", include("events.urls")),
    path("", include("embedded.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path(
        "api/schema/",
        dangerously_unscoped(SpectacularAPIView.as_view(), why=PUBLIC),
        name="schema",
    ),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file (?script), not inline.
        dangerously_unscoped(SpectacularSwaggerSplitView.as_view(url_name="schema"), why=PUBLIC),
        name="api-docs",
    ),
    path("health/", dangerously_unscoped(health, why=PUBLIC), name="health"),
    path("", include(embedded_browser_urlpatterns)),
]
