from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api import dangerously_unscoped


@dangerously_unscoped
def health(request):
    """Liveness for load balancers and docker-compose: touches no tenant data."""
    return JsonResponse({"status": "ok"})


api_urlpatterns = [
    path("", include("workspaces.urls")),
    path("", include("services.urls")),
    path("", include("auths.urls")),
    path("", include("auths.lifecycle_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("api/schema/", dangerously_unscoped(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        dangerously_unscoped(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("health/", health, name="health"),
]
