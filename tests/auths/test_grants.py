"""auths/grants.py: what a grant covers, and the backfill of grants for auths that predate them."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps

from auths.grants import grant_moved_fields, grant_of, grant_problem, origin
from auths.models import Authentication
from auths.parameters import ParameterValues
from tests.lifecycle.factories import make_auth, make_service

backfill = importlib.import_module("auths.migrations.0006_authentication_grant").grants_backfill


def test_origin_writes_the_default_port_and_lowercases_the_host():
    assert origin("https://API.Example.com/v1") == "https://api.example.com:443"
    assert origin("http://example.com:8080/x") == "http://example.com:8080"
    assert origin("https://example.com:abc/") == ""  # not a port: no origin at all
    assert origin("/relative") == ""


def auth_on(template: str, **values):
    service = SimpleNamespace(
        token_url="", refresh_url="", revoke_url="", base_url=template, client_id="cid"
    )
    grant = grant_of(service=service, values=ParameterValues(public=values))
    return SimpleNamespace(service=service, grant=grant, parameters=values, secret_parameters=None)


def test_an_unchanged_template_covers_values_the_provider_gave():
    """Salesforce's {{instance_url}} comes from the token response and may change at a refresh:
    the template is what the person trusted, not one instance."""
    auth = auth_on("{{instance_url}}/services/data", instance_url="https://na1.salesforce.com")
    moved = "https://eu5.salesforce.com/services/data"
    assert grant_problem(authentication=auth, field="base_url", url=moved) is None


def test_a_new_template_must_resolve_to_the_granted_origin():
    auth = auth_on("https://api.example.com/v1")
    auth.service.base_url = "https://api.example.com/v2"
    assert grant_problem(authentication=auth, field="base_url", url=auth.service.base_url) is None
    assert grant_moved_fields(authentication=auth, service=auth.service) == []
    auth.service.base_url = "https://api.example.com.evil.test/v1"
    problem = grant_problem(authentication=auth, field="base_url", url=auth.service.base_url)
    assert "granted for https://api.example.com:443" in problem
    assert grant_moved_fields(authentication=auth, service=auth.service) == ["base_url"]


@pytest.mark.django_db
def test_auths_from_before_grants_are_granted_their_service_as_it_stands(tenant):
    service = make_service(
        base_url="https://{{shop}}.example.com/api",
        token_url="https://auth.example.com/token",
        client_id="app-{{region}}",
        parameters=[{"name": "shop"}, {"name": "region"}],
    )
    auth = make_auth(tenant, service, parameters={"shop": "acme", "region": "eu"})
    Authentication.objects.filter(pk=auth.pk).update(grant={})

    backfill(apps, None)

    grant = Authentication.objects.get(pk=auth.pk).grant
    assert grant == {
        "urls": {
            "token_url": {
                "template": "https://auth.example.com/token",
                "origin": "https://auth.example.com:443",
            },
            "base_url": {
                "template": "https://{{shop}}.example.com/api",
                "origin": "https://acme.example.com:443",
            },
        },
        "client_id": "app-eu",
    }
