from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from embedded.urls import browser_urlpatterns as embedded_browser_urlpatterns
from pages.urls import account_urlpatterns, connections_urlpatterns, services_urlpatterns
from pages.wizard_urls import wizard_urlpatterns
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
    # People arriving at the site's address land on the member home (or its sign-in).
    path(
        "",
        dangerously_unscoped(
            RedirectView.as_view(pattern_name="account:home", permanent=False), why=PUBLIC
        ),
        name="root",
    ),
    path("account/", include((account_urlpatterns, "account"))),
    path("connections/", include((connections_urlpatterns, "connections"))),
    path("services/", include((services_urlpatterns, "services"))),
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
    # The config wizard and the auth-only dialog, for end users (pages/wizard_urls.py).
    path("", include(wizard_urlpatterns)),
]
