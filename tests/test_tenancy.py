"""Tenancy that cannot be skipped:

1. every URL is served by an OrganizationScopedViewSet, or wrapped in `dangerously_unscoped(why=)`
   and listed in DANGEROUSLY_UNSCOPED below (a new escape fails the suite until it is reviewed and
   added here);
2. every API endpoint is listed in ENDPOINTS below (so a new endpoint without an isolation test
   fails the suite), and for each, a member of another organization and another organization's
   API key get 404, and an anonymous caller gets 401/403.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.connections.endpoints import ENDPOINTS as CONNECTIONS_ENDPOINTS
from tests.embedded.endpoints import ENDPOINTS as EMBEDDED_ENDPOINTS
from tests.events.endpoints import ENDPOINTS as EVENTS_ENDPOINTS
from tests.projects.endpoints import ENDPOINTS as PROJECTS_ENDPOINTS
from tests.services.endpoints import ENDPOINTS as SERVICES_ENDPOINTS
from tests.workspaces.endpoints import ENDPOINTS as WORKSPACES_ENDPOINTS
from workspaces.models import OrganizationAPIKey, Workspace, WorkspaceKind
from workspaces.scoping import OrganizationScopedViewSet

# Every URL served without organization scoping, and what scopes it instead. Each one has its own
# isolation tests (below, and in the app's tests).
DANGEROUSLY_UNSCOPED = {
    "schema": "public",
    "api-docs": "public",
    "health": "public",
    "organization-list": "the credential's own organizations",
    "user-api-key-list": "the signed-in person's own keys",
    "user-api-key-detail": "the signed-in person's own keys",
    "oauth-start": "the signed-in person's own OAuth transactions",
    "oauth-callback": (
        "the signed-in person's own OAuth transactions, or an end user's named by its state"
    ),
    "oauth-result": "the signed-in person's own OAuth transactions",
    "embedded-connect": (
        "the one-time connect code in its URL: it names one end user of one organization"
    ),
    "root": "public",
    # The member pages (pages/urls.py), namespaced by where they live.
    "account:home": "the signed-in person's own memberships",
    "account:sign-in": "public",
    "account:sign-out": "public",
    "account:password-change": "the signed-in person's own account",
    "account:password-reset": "public",
    "account:password-reset-sent": "public",
    "account:password-reset-done": "public",
    "account:password-reset-confirm": "Django's signed reset token",
    "account:time-zone": "public",
    "account:invitation": "the secret token in the link and the signed-in person's address",
    "account:api-keys": "the signed-in person's own keys",
    "account:api-key-create": "the signed-in person's own keys",
    "account:api-key-revoke": "the signed-in person's own keys",
    # The Connections and Services pages (pages/connection_views.py): the organization in the
    # address must be one of the person's (actor_for_slug), then the API's selectors.
    "connections:list": "the signed-in person's memberships, then the API's selectors",
    "connections:connect": "the person's membership of the organization in the address",
    "connections:connect-service": "the person's membership of the organization in the address",
    "connections:manage": "the person's membership of the organization in the address",
    "connections:reauthenticate": "the person's membership of the organization in the address",
    "connections:test": "the person's membership of the organization in the address",
    "connections:rename": "the person's membership of the organization in the address",
    "connections:move": "the person's membership of the organization in the address",
    "connections:delete": "the person's membership of the organization in the address",
    "services:list": "the signed-in person's memberships, then the API's selectors",
    "services:new": "the person's membership of the organization in the address",
    "services:reserved": "the person's membership of the organization in the address",
    "services:detail": "the person's membership of the organization in the address",
    # The end-user pages (pages/wizard_urls.py): the wizard session a one-time code opened.
    "embedded-wizard-solution": "the end user's wizard session, for this page only",
    "embedded-wizard-instance": "the end user's wizard session, for this page only",
    "embedded-auth-dialog": "the end user's wizard session, for this page only",
    "embedded-oauth-finished": "public: a fixed text, no tenant data",
}
PUBLIC_URL_NAMES = {name for name, why in DANGEROUSLY_UNSCOPED.items() if why == "public"}


def iter_named_patterns(patterns, prefix="", namespace=""):
    """(route, pattern, name): the name with its namespace ("account:home"), as reverse() takes it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from iter_named_patterns(
                pattern.url_patterns, prefix + str(pattern.pattern), inner
            )
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield prefix + str(pattern.pattern), pattern, name


def iter_patterns(patterns):
    """(route, pattern) of every URL."""
    for route, pattern, _ in iter_named_patterns(patterns):
        yield route, pattern


def api_patterns():
    return [
        (route, p)
        for route, p in iter_patterns(get_resolver().url_patterns)
        if route.startswith("api/")
    ]


def platform_patterns():
    """Every URL of the platform but the admin's (the admin is scoped by its own site)."""
    return [
        (name, p)
        for route, p, name in iter_named_patterns(get_resolver().url_patterns)
        if not route.startswith("admin/")
    ]


def view_class(pattern):
    callback = pattern.callback
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def test_every_url_is_organization_scoped_or_a_listed_escape():
    scoped, escapes = set(), {}
    for name, pattern in platform_patterns():
        cls = view_class(pattern)
        why = getattr(pattern.callback, "dangerously_unscoped", None)
        if why:
            escapes[name] = why
        elif cls is not None and issubclass(cls, OrganizationScopedViewSet):
            scoped.add(name)
        else:
            escapes[name] = None  # neither: refused below
    assert set(escapes) == set(DANGEROUSLY_UNSCOPED), "review the escape and list it above"
    assert all(escapes.values())
    assert not scoped & set(DANGEROUSLY_UNSCOPED)


def test_an_escape_needs_a_reason():
    from workspaces.scoping import dangerously_unscoped

    with pytest.raises(ValueError):
        dangerously_unscoped(lambda request: None, why=" ")


def test_admin_site_is_the_scoped_platform_site():
    from django.contrib import admin

    from config.admin_site import PlatformAdminSite

    assert isinstance(admin.site, PlatformAdminSite)


# --- the endpoint matrix ------------------------------------------------------------------------


ENDPOINTS = {
    **WORKSPACES_ENDPOINTS,
    **SERVICES_ENDPOINTS,
    **CONNECTIONS_ENDPOINTS,
    **EVENTS_ENDPOINTS,
    **PROJECTS_ENDPOINTS,
    **EMBEDDED_ENDPOINTS,
}
# Endpoints that list the caller's own things: an outsider sees only theirs (tested below).
SELF_SCOPED = {"organization-list", "user-api-key-list", "user-api-key-detail"}


def test_every_api_endpoint_is_in_the_isolation_matrix():
    names = {p.name for _, p in api_patterns()} - PUBLIC_URL_NAMES - SELF_SCOPED
    assert names - set(ENDPOINTS) == set(), "add the new endpoints to ENDPOINTS"


MATRIX = [(name, method) for name, (methods, _) in ENDPOINTS.items() for method in methods]


@pytest.mark.parametrize(("name", "method"), MATRIX)
def test_outsider_gets_404(name, method, tenant, outsider, api):
    url = reverse(name, kwargs=ENDPOINTS[name][1](tenant))
    response = getattr(api.as_user(outsider), method)(url, {}, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("name", "method"), MATRIX)
def test_other_organizations_api_key_gets_404(name, method, tenant, other_tenant, api):
    _, key = OrganizationAPIKey.objects.create_key(
        name="other", organization=other_tenant.organization
    )
    url = reverse(name, kwargs=ENDPOINTS[name][1](tenant))
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code == 404, response.content


@pytest.mark.parametrize(("name", "method"), MATRIX)
def test_anonymous_is_refused(name, method, tenant, api):
    url = reverse(name, kwargs=ENDPOINTS[name][1](tenant))
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code in (401, 403)


def test_organization_list_shows_only_own_organizations(tenant, other_tenant, api):
    response = api.as_user(tenant.contributor).get(reverse("organization-list"))
    slugs = [o["slug"] for o in response.json()["results"]]
    assert slugs == [tenant.organization.slug]


def test_workspace_list_hides_other_members_personal_workspaces(tenant, api):
    response = api.as_user(tenant.contributor).get(
        reverse("workspace-list", kwargs={"organization_slug": tenant.organization.slug})
    )
    kinds = sorted(w["kind"] for w in response.json()["results"])
    assert kinds == ["organization", "personal"]
    personal = Workspace.objects.get(personal_owner__user=tenant.contributor)
    assert str(personal.pk) in [w["id"] for w in response.json()["results"]]
    assert WorkspaceKind.PERSONAL in kinds


def test_a_tenant_view_cannot_bring_its_own_queryset_through_a_mixin():
    from workspaces.models import Workspace as Model
    from workspaces.scoping import OrganizationScopedViewSet

    class Leaky:
        def get_queryset(self):
            return Model.objects.all()

    with pytest.raises(TypeError, match="scoped_queryset"):
        type("LeakyViewSet", (Leaky, OrganizationScopedViewSet), {})
    with pytest.raises(TypeError, match="scoped_queryset"):
        type("LeakyObject", (OrganizationScopedViewSet,), {"get_object": lambda self: None})
