"""Token-response parsing: alternate token paths, defaults, extra values, and the classification
of misbehaving answers. Provider quirks the loopback server does not show are fed as real
requests.Response objects."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django.utils.http import http_date

from auths.tokens import (
    MalformedTokenResponse,
    RefreshRejected,
    TokenEndpointError,
    TransientTokenError,
    parse_token_response,
    retry_after_seconds,
)
from connections.password_grant import authentication_create_password
from services.models import Service
from tests.connections.helpers import oauth2_service


def answer(payload, status=200, content_type="application/json", headers=None):
    response = requests.Response()
    response.status_code = status
    response._content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response.headers["Content-Type"] = content_type
    response.headers.update(headers or {})
    return response


def service(**fields):
    return Service(name="Provider", default_token_lifetime=1800, **fields)


def test_alternate_token_path_and_response_parameters():
    parsed = parse_token_response(
        service=service(
            token_path="authed_user.access_token",
            token_response_parameters={"instance_url": "instance_url", "team_id": "team"},
        ),
        response=answer(
            {
                "ok": True,
                "authed_user": {"access_token": "xoxp-1", "refresh_token": "r-1", "expires_in": 60},
                "instance_url": "https://na1.example.com",
                "team_id": "T1",
            }
        ),
    )
    assert parsed.access_token == "xoxp-1"
    assert parsed.refresh_token == "r-1"
    assert parsed.expires_in == 60
    assert parsed.parameters == {"instance_url": "https://na1.example.com", "team": "T1"}
    assert "xoxp-1" not in repr(parsed) and "r-1" not in repr(parsed)


def test_missing_expires_in_uses_the_service_default_never_never():
    parsed = parse_token_response(service=service(), response=answer({"access_token": "a"}))
    assert parsed.expires_in == 1800
    assert parsed.expires_in_defaulted


@pytest.mark.parametrize("field", ["refresh_token_expires_in", "x_refresh_token_expires_in"])
def test_refresh_token_lifetime_is_read(field):
    parsed = parse_token_response(
        service=service(),
        response=answer({"access_token": "a", "refresh_token": "r", field: "8726400"}),
    )
    assert parsed.refresh_token_expires_in == 8726400
    assert parsed.refresh_token_expires_field == field


def test_scope_string_is_split_with_the_services_separator():
    parsed = parse_token_response(
        service=service(scope_separator=","),
        response=answer({"access_token": "a", "scope": "repo,user:email"}),
    )
    assert parsed.scopes == ["repo", "user:email"]


def test_form_encoded_answer_is_accepted():
    parsed = parse_token_response(
        service=service(),
        response=answer(
            b"access_token=gho_1&scope=repo&token_type=bearer", content_type="text/plain"
        ),
    )
    assert parsed.access_token == "gho_1"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (answer(b"<html>maintenance</html>", content_type="text/html"), MalformedTokenResponse),
        (answer({"error": "server_error"}), MalformedTokenResponse),
        (answer({"token_type": "bearer"}), MalformedTokenResponse),
        (answer(["a"]), MalformedTokenResponse),
        (answer({"error": "invalid_grant"}, 400), RefreshRejected),
        (answer({"error": "invalid_client"}, 401), RefreshRejected),
        (answer({"error": "unauthorized_client"}, 400), RefreshRejected),
        (answer({"error": "invalid_scope"}, 400), TokenEndpointError),
        (answer({"error": "temporarily_unavailable"}, 503), TransientTokenError),
        (answer(b"", status=502, content_type=""), TransientTokenError),
    ],
)
def test_misbehaving_answers_are_classified(response, error):
    with pytest.raises(error):
        parse_token_response(service=service(), response=response)


def test_descriptions_never_carry_the_secrets_sent():
    response = answer(
        {"error": "invalid_grant", "error_description": "refresh token rt-SECRET is revoked"}, 400
    )
    with pytest.raises(RefreshRejected) as raised:
        parse_token_response(service=service(), response=response, scrub=("rt-SECRET",))
    assert "rt-SECRET" not in str(raised.value)
    assert "[redacted]" in raised.value.description


def test_retry_after_as_seconds_and_as_date():
    assert retry_after_seconds("120") == 120
    assert (
        55
        <= retry_after_seconds(http_date((timezone.now() + timedelta(seconds=60)).timestamp()))
        <= 61
    )
    assert retry_after_seconds("soon") is None
    with pytest.raises(TransientTokenError) as raised:
        parse_token_response(
            service=service(),
            response=answer({"error": "slow_down"}, 429, headers={"Retry-After": "30"}),
        )
    assert raised.value.retry_after == 30


@pytest.mark.django_db
def test_no_expires_in_from_the_real_server_uses_the_default(tenant, server, resource_owner):
    provider = oauth2_service(tenant, server, grant_type="password", default_token_lifetime=900)
    server.set_fault("no_expires_in", count=1)
    before = timezone.now()
    auth = authentication_create_password(
        actor=tenant.actor(tenant.contributor),
        service=provider,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )
    lifetime = (auth.access_token_expires_at - before).total_seconds()
    assert 895 <= lifetime <= 905


@pytest.mark.django_db
def test_declared_refresh_token_lifetime_is_stored_with_its_reason(tenant, server, resource_owner):
    provider = oauth2_service(tenant, server, grant_type="password")
    server.set_lifetimes(refresh_token_seconds=86400, include_refresh_token_expires_in=True)
    auth = authentication_create_password(
        actor=tenant.actor(tenant.contributor),
        service=provider,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )
    lifetime = (auth.refresh_token_expires_at - auth.refresh_token_issued_at).total_seconds()
    assert 86390 <= lifetime <= 86410
    assert auth.refresh_token_expiry_reason
