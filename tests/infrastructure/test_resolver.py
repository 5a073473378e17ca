"""Name resolution for the egress guards. The suite answers names from a table (tests/resolver.py)
so that no test waits on DNS; this test keeps the production resolver honest."""

import socket

import pytest

from infrastructure.egress import EgressPolicy, EgressRefused, http_session, resolve_host
from infrastructure.errors import RuleViolation
from services.validation import definition_validate


def test_the_system_resolver_is_what_production_uses(settings):
    from config.settings import base

    assert base.EGRESS_RESOLVER == "infrastructure.egress.system_resolver"
    settings.EGRESS_RESOLVER = base.EGRESS_RESOLVER
    assert any(address.is_loopback for address in resolve_host("localhost"))
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    with pytest.raises(RuleViolation) as refused:
        definition_validate(
            values={
                "name": "Local",
                "auth_scheme": "token",
                "base_url": "https://localhost/v1",
                "credential_placement": "header",
                "credential_header_name": "Authorization",
            }
        )
    assert refused.value.field == "base_url"
    with pytest.raises(EgressRefused):
        http_session(policy=EgressPolicy()).get("https://localhost:9/")


def test_the_test_resolver_answers_from_its_table(hosts):
    hosts({"internal.example": ["10.0.0.1"]})
    assert [str(a) for a in resolve_host("internal.example")] == ["10.0.0.1"]
    assert [str(a) for a in resolve_host("2130706433")] == ["127.0.0.1"]  # no DNS for literals
    with pytest.raises(socket.gaierror):
        resolve_host("unknown.example")
