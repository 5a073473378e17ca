"""Every list endpoint refuses query input PostgreSQL cannot take, cleanly: a limit or offset past
what the database counts in (bigint), and NUL characters (PostgreSQL text never holds one) in any
query parameter. The endpoints are discovered from the URL configuration, so a new list endpoint
is covered the day it is added."""

import pytest
from django.urls import get_resolver, reverse
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from infrastructure.pagination import (
    MAX_LIMIT,
    MAX_OFFSET,
    BoundedLimitOffsetPagination,
    NewestFirstCursorPagination,
)
from tests.conftest import build_tenant
from tests.test_tenancy import ENDPOINTS, iter_patterns
from workspaces.models import Edition, OrganizationAPIKey

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past bigint
# Parameters the list endpoints filter on, and two they ignore: every one is refused with a NUL.
PARAMETERS = ("search", "kind", "source", "limit", "offset", "anything")


def list_endpoint_names() -> list[str]:
    names = []
    for route, pattern in iter_patterns(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        callback = pattern.callback
        actions = getattr(callback, "actions", None) or {}
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        is_list_view = view_class is not None and hasattr(view_class, "list") and not actions
        if actions.get("get") == "list" or is_list_view:
            names.append(pattern.name)
    return sorted(set(names))


LIST_ENDPOINTS = list_endpoint_names()


def pages_by_cursor(name) -> bool:
    """The event logs page by cursor (infrastructure/pagination.py): no offset, no count."""
    callback = next(
        p.callback for _, p in iter_patterns(get_resolver().url_patterns) if p.name == name
    )
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    pagination_class = getattr(view_class, "pagination_class", None)
    return pagination_class is not None and issubclass(
        pagination_class, NewestFirstCursorPagination
    )


def test_list_endpoints_are_found():
    assert {"authentication-list", "auth-event-list", "service-catalog-list"} <= set(LIST_ENDPOINTS)
    assert {"organization-list", "user-api-key-list", "webhook-delivery-list"} <= set(
        LIST_ENDPOINTS
    )


def list_url(name, tenant) -> str:
    build = ENDPOINTS[name][1] if name in ENDPOINTS else (lambda t: {})
    return reverse(name, kwargs=build(tenant))


@pytest.fixture
def tenant(db):
    # Both editions, so the embedded lists answer too (a platform organization is refused them).
    return build_tenant(edition=Edition.BOTH, name="Acme")


@pytest.fixture
def client(tenant, api):
    # The owner sees every list (webhooks and their deliveries are owners' and admins').
    return api.as_user(tenant.owner)


@pytest.mark.parametrize("name", LIST_ENDPOINTS)
def test_a_huge_limit_is_capped(name, tenant, client):
    response = client.get(list_url(name, tenant), {"limit": HUGE})
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"]) <= MAX_LIMIT


@pytest.mark.parametrize("name", LIST_ENDPOINTS)
def test_a_huge_offset_is_refused_naming_it(name, tenant, client):
    response = client.get(list_url(name, tenant), {"offset": HUGE})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["offset"]
    if pages_by_cursor(name):
        assert "cursor" in error["message"] and "next" in error["message"]
    else:
        assert f"{MAX_OFFSET:,}" in error["message"]


@pytest.mark.parametrize("name", LIST_ENDPOINTS)
@pytest.mark.parametrize("parameter", PARAMETERS)
def test_a_nul_character_in_a_query_parameter_is_refused_naming_it(name, parameter, tenant, client):
    response = client.get(list_url(name, tenant), {parameter: "a\x00b"})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["fields"] == {parameter: [error["message"]]}
    assert parameter in error["message"] and "NUL" in error["message"]


def test_an_organization_api_key_gets_the_same_answers(tenant, api):
    _, key = OrganizationAPIKey.objects.create_key(name="k", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    url = list_url("auth-event-list", tenant)
    assert api.get(url, {"kind": "\x00"}).status_code == 400
    assert api.get(url, {"limit": HUGE}).status_code == 200


def test_a_nul_character_in_the_path_is_refused(tenant, client):
    response = client.delete("/api/me/api-keys/a%00b/")
    assert response.status_code == 400, response.content
    assert "NUL" in response.json()["error"]["message"]


def test_limits_within_bounds_still_page(tenant, client):
    url = reverse("service-catalog-list", kwargs={"organization_slug": tenant.organization.slug})
    first = client.get(url, {"limit": 2, "offset": 1}).json()
    assert len(first["results"]) == 2 and first["count"] > 3
    assert "offset=3" in first["next"]


def test_a_nul_character_in_an_api_key_is_refused(tenant, api):
    api.credentials(HTTP_AUTHORIZATION="Api-Key abc\x00.def")
    response = api.get(list_url("auth-event-list", tenant))
    assert response.status_code == 400, response.content
    assert "Authorization header" in response.json()["error"]["message"]


def test_the_admin_search_refuses_a_nul_character_too(tenant, client):
    response = client.get("/admin/workspaces/workspace/", {"q": "\x00"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"q": [response.json()["error"]["message"]]}


def test_the_cap_is_the_largest_page():
    request = Request(APIRequestFactory().get("/", {"limit": HUGE}))
    assert BoundedLimitOffsetPagination().get_limit(request) == MAX_LIMIT
