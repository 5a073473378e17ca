from django.urls import include, path

from tests.oauth_server import views

urlpatterns = [
    # The wrapped DOT endpoints come first so they win over DOT's own
    # patterns for the same paths (reverse() still yields these paths).
    path("o/authorize/", views.authorize),
    path("o/token/", views.token),
    path("o/revoke_token/", views.revoke_token),
    path("o/introspect/", views.introspect),
    # Everything else DOT has, including the RFC 8414 metadata document at
    # /o/.well-known/oauth-authorization-server (the issuer is <base>/o).
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", views.login_view),
    path("control/health", views.control_health),
    path("control/users", views.control_create_user),
    path("control/applications", views.control_create_application),
    path("control/settings", views.control_settings),
    path("control/faults", views.control_faults),
    path("control/counters", views.control_counters),
    path("control/last_token_request", views.control_last_token_request),
    path("control/token_requests", views.control_token_requests),
    path("control/last_revoke_request", views.control_last_revoke_request),
    path("control/reset", views.control_reset),
    path("control/expire_access_tokens", views.control_expire_access_tokens),
    path("control/revoke_refresh_tokens", views.control_revoke_refresh_tokens),
    path("control/tokens", views.control_tokens),
    path("api/echo", views.api_echo),
    path("api/echo/<path:subpath>", views.api_echo),
    path("api/public", views.api_public),
    path("api/large", views.api_large),
    path("api/redirect", views.api_redirect),
    path("api/status/<int:code>", views.api_status),
]
