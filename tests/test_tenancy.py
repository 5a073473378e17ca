"""Tenancy that cannot be skipped:

1. every URL is either served by a tenant-scoped view or explicitly marked public;
2. every API endpoint is listed in ENDPOINTS below (so a new endpoint without an isolation test
   fails the suite), and for each, a member of another organization and another organization's
   API key get 404, and an anonymous caller gets 401/403.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.api import TenantScopedMixin
from tests.auths.endpoints import ENDPOINTS as AUTHS_ENDPOINTS
from tests.auths.lifecycle_endpoints import ENDPOINTS as LIFECYCLE_ENDPOINTS
from tests.services.endpoints import ENDPOINTS as SERVICES_ENDPOINTS
from tests.workspaces.endpoints import ENDPOINTS as WORKSPACES_ENDPOINTS
from workspaces.models import OrganizationAPIKey, Workspace, WorkspaceKind

PUBLIC_URL_NAMES = {"schema", "api-docs", "health"}


def iter_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def api_patterns():
    return [
        (route, p)
        for route, p in iter_patterns(get_resolver().url_patterns)
        if route.startswith("api/")
    ]


def view_class(pattern):
    callback = pattern.callback
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def test_every_api_url_is_tenant_scoped_or_explicitly_public():
    unguarded = []
    for route, pattern in api_patterns():
        cls = view_class(pattern)
        scoped = cls is not None and issubclass(cls, TenantScopedMixin)
        public = getattr(pattern.callback, "dangerously_unscoped", False)
        if public != (pattern.name in PUBLIC_URL_NAMES) or not (scoped or public):
            unguarded.append(route)
    assert unguarded == []


def test_admin_site_is_the_scoped_platform_site():
    from django.contrib import admin

    from config.admin_site import PlatformAdminSite

    assert isinstance(admin.site, PlatformAdminSite)


# --- the endpoint matrix ------------------------------------------------------------------------


ENDPOINTS = {
    **WORKSPACES_ENDPOINTS,
    **SERVICES_ENDPOINTS,
    **AUTHS_ENDPOINTS,
    **LIFECYCLE_ENDPOINTS,
}
# Endpoints that list the caller's own organizations: an outsider sees only theirs (tested below).
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
    from config.api import OrganizationScopedViewSet
    from workspaces.models import Workspace as Model

    class Leaky:
        def get_queryset(self):
            return Model.objects.all()

    with pytest.raises(TypeError, match="scoped_queryset"):
        type("LeakyViewSet", (Leaky, OrganizationScopedViewSet), {})
    with pytest.raises(TypeError, match="scoped_queryset"):
        type("LeakyObject", (OrganizationScopedViewSet,), {"get_object": lambda self: None})
