"""Placeholder substitution cannot move a URL's host; a leading placeholder may hold an origin."""

import pytest

from auths.parameters import resolve_placeholders, resolve_url
from infrastructure.errors import RuleViolation


def test_values_are_percent_encoded_inside_urls():
    url = resolve_url("https://{{shop}}.shops.example/api", {"shop": "evil.example/x?"}, what="u")
    assert url == "https://evil.example%2Fx%3F.shops.example/api"


def test_a_leading_placeholder_may_hold_an_origin():
    url = resolve_url(
        "{{instance_url}}/services/data", {"instance_url": "https://na1.example.com/"}, what="u"
    )
    assert url == "https://na1.example.com/services/data"
    with pytest.raises(RuleViolation):
        resolve_url("{{u}}/x", {"u": "https://user:pw@evil.example"}, what="u")


def test_missing_value_names_the_parameter():
    with pytest.raises(RuleViolation) as refused:
        resolve_url("https://{{region}}.api.example", {}, what="base URL")
    assert refused.value.field == "parameters.region"
    assert "base URL" in refused.value.message


def test_client_id_placeholders_are_plain_text():
    assert resolve_placeholders("{{tenant}}-app", {"tenant": "a/b"}, what="client id") == "a/b-app"
