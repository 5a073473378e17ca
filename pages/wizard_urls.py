"""The end-user pages (pages/wizard_views.py), at the site's root (config/urls.py). None is
organization-scoped the API's way: an end user never signs in, so each page is scoped by the
wizard session its one-time code opened (one end user of one organization, one page), and refuses
a code of another organization; tests/test_tenancy.py lists them."""

from django.urls import path

from pages import wizard_views
from workspaces.scoping import dangerously_unscoped

END_USER_SESSION = (
    "the wizard session a one-time code opened: one end user of the organization in the URL, "
    "for this page only (embedded/wizard.py)"
)
POPUP_END = "public: a fixed text for the outcome in its query, no tenant data"
ORG = "embedded/<slug:organization_slug>"

wizard_urlpatterns = [
    path(
        f"{ORG}/solutions/<uuid:solution_id>/configure/",
        dangerously_unscoped(wizard_views.solution_wizard, why=END_USER_SESSION),
        name="embedded-wizard-solution",
    ),
    path(
        f"{ORG}/instances/<uuid:instance_id>/configure/",
        dangerously_unscoped(wizard_views.instance_wizard, why=END_USER_SESSION),
        name="embedded-wizard-instance",
    ),
    path(
        f"{ORG}/auth/<str:target>/",
        dangerously_unscoped(wizard_views.auth_dialog, why=END_USER_SESSION),
        name="embedded-auth-dialog",
    ),
    path(
        "embedded/oauth-finished/",
        dangerously_unscoped(wizard_views.oauth_finished, why=POPUP_END),
        name="embedded-oauth-finished",
    ),
]
