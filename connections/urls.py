"""Authentications API (tenant routes under organizations/<slug>/authentications/) and the OAuth
browser routes, which know a person but no organization: they are scoped by hand to the signed-in
person (connections/api.py: _BrowserView)."""

from django.urls import path

from connections import api
from workspaces.scoping import dangerously_unscoped

SIGNED_IN_PERSON = (
    "scoped to the signed-in person: the OAuth transactions they started, the services of their "
    "organizations"
)
SIGNED_IN_PERSON_OR_END_USER = (
    SIGNED_IN_PERSON + "; or, with no session, the end user's transaction its single-use state "
    "names (a connect link)"
)

ORG = "organizations/<slug:organization_slug>/authentications"
view = api.AuthenticationViewSet.as_view

urlpatterns = [
    path(f"{ORG}/", view({"get": "list"}), name="authentication-list"),
    path(f"{ORG}/token/", view({"post": "create_token"}), name="authentication-token"),
    path(f"{ORG}/generic/", view({"post": "create_generic"}), name="authentication-generic"),
    path(
        f"{ORG}/client-credentials/",
        view({"post": "create_client_credentials"}),
        name="authentication-client-credentials",
    ),
    path(f"{ORG}/password/", view({"post": "create_password"}), name="authentication-password"),
    path(f"{ORG}/oauth/start/", view({"post": "oauth_start"}), name="authentication-oauth-start"),
    path(
        f"{ORG}/<uuid:pk>/",
        view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="authentication-detail",
    ),
    path(f"{ORG}/<uuid:pk>/move/", view({"post": "move"}), name="authentication-move"),
    path(
        f"{ORG}/<uuid:pk>/reauthenticate/",
        view({"post": "reauthenticate"}),
        name="authentication-reauthenticate",
    ),
    path(f"{ORG}/<uuid:pk>/disable/", view({"post": "disable"}), name="authentication-disable"),
    path(f"{ORG}/<uuid:pk>/enable/", view({"post": "enable"}), name="authentication-enable"),
    path(f"{ORG}/<uuid:pk>/request/", view({"post": "call_api"}), name="authentication-request"),
    # Browser routes
    path(
        "oauth/start/<uuid:transaction_id>/",
        dangerously_unscoped(api.OAuthStartView.as_view(), why=SIGNED_IN_PERSON),
        name="oauth-start",
    ),
    path(
        "oauth/callback/<uuid:service_id>/",
        dangerously_unscoped(api.OAuthCallbackView.as_view(), why=SIGNED_IN_PERSON_OR_END_USER),
        name="oauth-callback",
    ),
    path(
        "oauth/result/<uuid:transaction_id>/",
        dangerously_unscoped(api.OAuthResultView.as_view(), why=SIGNED_IN_PERSON),
        name="oauth-result",
    ),
]
