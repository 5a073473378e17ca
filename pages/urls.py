"""The member pages, under /account/ (namespace "account"). None has an organization in its
address: each is scoped to the signed-in person or is public (signing in), as each `why` says;
tests/test_tenancy.py lists them."""

from django.urls import path

from pages import connection_views, views
from workspaces.scoping import dangerously_unscoped

PUBLIC = "public: signing in, touches no tenant data"
OWN_ACCOUNT = "scoped to the signed-in person: their own account"
OWN_MEMBERSHIPS = "scoped to the signed-in person: their own memberships (membership_list_for_user)"
OWN_KEYS = "scoped to the signed-in person: their own API keys (user_api_key_list_for_user)"
INVITATION = "scoped by the secret token in the link, and to the signed-in person's email address"

account_urlpatterns = [
    path("", dangerously_unscoped(views.home, why=OWN_MEMBERSHIPS), name="home"),
    path("sign-in/", dangerously_unscoped(views.SignInView.as_view(), why=PUBLIC), name="sign-in"),
    path(
        "sign-out/", dangerously_unscoped(views.SignOutView.as_view(), why=PUBLIC), name="sign-out"
    ),
    path(
        "password/",
        dangerously_unscoped(views.PasswordChangeView.as_view(), why=OWN_ACCOUNT),
        name="password-change",
    ),
    path(
        "password-reset/",
        dangerously_unscoped(views.PasswordResetView.as_view(), why=PUBLIC),
        name="password-reset",
    ),
    path(
        "password-reset/sent/",
        dangerously_unscoped(views.PasswordResetSentView.as_view(), why=PUBLIC),
        name="password-reset-sent",
    ),
    path(
        "password-reset/done/",
        dangerously_unscoped(views.PasswordResetDoneView.as_view(), why=PUBLIC),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        dangerously_unscoped(
            views.PasswordResetConfirmView.as_view(),
            why="scoped by the signed reset token in the link (Django's)",
        ),
        name="password-reset-confirm",
    ),
    path("time-zone/", dangerously_unscoped(views.time_zone, why=PUBLIC), name="time-zone"),
    path(
        "invitations/<str:token>/",
        dangerously_unscoped(views.invitation, why=INVITATION),
        name="invitation",
    ),
    path("api-keys/", dangerously_unscoped(views.api_keys, why=OWN_KEYS), name="api-keys"),
    path(
        "api-keys/new/",
        dangerously_unscoped(views.api_key_create, why=OWN_KEYS),
        name="api-key-create",
    ),
    path(
        "api-keys/<str:prefix>/revoke/",
        dangerously_unscoped(views.api_key_revoke, why=OWN_KEYS),
        name="api-key-revoke",
    ),
]


# --- Connections and Services (pages/connection_views.py) ---------------------------------------
# Each page of one organization resolves the organization in its address to the signed-in
# person's actor (a member, or 404) and reads through the API's scoped selectors.
IN_ORGANIZATION = (
    "scoped to the signed-in person's membership of the organization in the address "
    "(actor_for_slug), then the API's selectors (authentication_list_for_actor, "
    "service_list_for_actor)"
)
OWN_ORGANIZATIONS = "scoped to the signed-in person's memberships, then the API's selectors"


def _page(route, view, name, why=IN_ORGANIZATION):
    return path(route, dangerously_unscoped(view, why=why), name=name)


ORG = "<slug:organization_slug>"
AUTH = f"{ORG}/<uuid:authentication_id>"
connections_urlpatterns = [
    _page("", connection_views.connection_list, "list", why=OWN_ORGANIZATIONS),
    _page(f"{ORG}/connect/", connection_views.connect_picker, "connect"),
    _page(f"{ORG}/connect/<uuid:service_id>/", connection_views.connect_service, "connect-service"),
    _page(f"{AUTH}/", connection_views.manage, "manage"),
    _page(f"{AUTH}/reauthenticate/", connection_views.reauthenticate, "reauthenticate"),
    _page(f"{AUTH}/test/", connection_views.test, "test"),
    _page(f"{AUTH}/rename/", connection_views.rename, "rename"),
    _page(f"{AUTH}/move/", connection_views.move, "move"),
    _page(f"{AUTH}/delete/", connection_views.delete, "delete"),
]
services_urlpatterns = [
    _page("", connection_views.service_list, "list", why=OWN_ORGANIZATIONS),
    _page(f"{ORG}/new/", connection_views.service_new, "new"),
    _page(f"{ORG}/new/<uuid:service_id>/", connection_views.service_reserved, "reserved"),
    _page(f"{ORG}/<uuid:service_id>/", connection_views.service_detail, "detail"),
]
