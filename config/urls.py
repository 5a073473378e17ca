from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("", include("projects.urls")),
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
        dangerously_unscoped(SpectacularSwaggerView.as_view(url_name="schema"), why=PUBLIC),
        name="api-docs",
    ),
    path("health/", dangerously_unscoped(health, why=PUBLIC), name="health"),
]
