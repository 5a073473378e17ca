"""Placeholder substitution cannot move a URL's host; a leading placeholder may hold an origin."""

import pytest

from auths.parameters import (
    MAX_VALUE_LENGTH,
    parameters_validate,
    resolve_placeholders,
    resolve_url,
)
from infrastructure.errors import RuleViolation
from tests.connections.helpers import custom_service


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


# --- declared patterns run in linear time ----------------------------------------------------------


@pytest.fixture
def pattern_service(tenant):
    """A service whose parameter declares the textbook catastrophic pattern: under a backtracking
    engine `(a+)+$` on 'aaa…a!' takes time exponential in the length (27 characters: 15 s)."""
    return custom_service(
        tenant, parameters=[{"name": "account", "title": "Account", "pattern": "(a+)+$"}]
    )


@pytest.mark.django_db
@pytest.mark.timeout(60)  # a backtracking engine would not finish: fail instead of hanging
def test_a_catastrophic_pattern_gets_the_right_answer_at_once(pattern_service):
    accepted = parameters_validate(service=pattern_service, values={"account": "a" * 64})
    assert accepted.public == {"account": "a" * 64}
    with pytest.raises(RuleViolation) as refused:
        parameters_validate(service=pattern_service, values={"account": "a" * 64 + "!"})
    assert refused.value.field == "parameters.account"
    assert "(a+)+$" in refused.value.message


@pytest.mark.django_db
def test_declared_patterns_run_under_re2_not_pythons_re(tenant):
    """A backreference is Python-only syntax (re2 has none: that is what keeps it linear). A
    service row that holds one (written before definitions were checked against re2) is refused
    with a message, never run by Python's backtracking engine."""
    service = custom_service(
        tenant, parameters=[{"name": "code", "title": "Code", "pattern": r"(a)\1"}]
    )
    with pytest.raises(RuleViolation) as refused:
        parameters_validate(service=service, values={"code": "aa"})
    assert refused.value.field == "parameters.code"
    assert "cannot be used" in refused.value.message and "pattern" in refused.value.message


@pytest.mark.django_db
def test_parameter_values_have_a_length_cap(tenant):
    service = custom_service(tenant, parameters=[{"name": "shop", "pattern": "[a-z]+"}])
    assert parameters_validate(service=service, values={"shop": "a" * MAX_VALUE_LENGTH}).public
    with pytest.raises(RuleViolation) as refused:
        parameters_validate(service=service, values={"shop": "a" * (MAX_VALUE_LENGTH + 1)})
    assert refused.value.field == "parameters.shop"
    assert f"at most {MAX_VALUE_LENGTH:,}" in refused.value.message
