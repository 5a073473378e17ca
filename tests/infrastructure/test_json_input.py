"""JSON bodies: a NUL character (\\u0000) anywhere in the document is refused with 400 naming
where it is. PostgreSQL text and jsonb cannot hold one: it used to fail inside the database, as a
500, wherever a serializer takes free-form JSON (a generic definition, a service's extra
parameters, a parameter's description)."""

import pytest
from django.urls import reverse

from auths.models import Authentication
from tests.services.builders import oauth2_definition

pytestmark = pytest.mark.django_db

WEATHER = {
    "base_url": "https://weather.example/v2",
    "credential_placement": "query",
    "credential_query_param": "apikey",
}


def org(tenant, name):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug})


def generic(**definition):
    return (
        "authentication-generic",
        {
            "name": "Weather",
            "definition": {**WEATHER, **definition},
            "credentials": {"api_key": "w-123456789"},
        },
    )


def custom(**overrides):
    return (
        "custom-service-list",
        {**oauth2_definition(**overrides), "client_secret": "s3cret-client-value"},
    )


CASES = {
    "definition.base_url": generic(base_url="https://weather.example/v2\x00"),
    "definition.description": generic(description="Weather\x00"),
    "authorize_params.audience": custom(authorize_params={"audience": "a\x00b"}),
    "parameters[0].description": custom(parameters=[{"name": "subdomain", "description": "\x00"}]),
    "scopes_available[0]": custom(scopes_available=["a\x00"], scopes_default=[]),
}


@pytest.mark.parametrize("where", sorted(CASES))
def test_a_nul_character_in_a_json_body_is_refused_naming_where(where, tenant, api):
    name, body = CASES[where]

    response = api.as_user(tenant.owner).post(org(tenant, name), body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [where]
    assert "NUL" in error["message"]
    assert not Authentication.objects.exists()


def test_a_nul_character_in_a_key_is_refused_too(tenant, api):
    name, body = custom(authorize_params={"a\x00": "b"})
    response = api.as_user(tenant.owner).post(org(tenant, name), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["authorize_params.a\\x00"]


@pytest.mark.parametrize("depth", [990, 100_000])
def test_a_body_nested_too_deeply_is_refused_not_a_server_error(depth, tenant, api):
    body = "[" * depth + "]" * depth
    response = api.as_user(tenant.owner).post(
        org(tenant, "custom-service-list"), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "nested too deeply" in response.json()["error"]["message"]
