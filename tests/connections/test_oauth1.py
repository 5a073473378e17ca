"""OAuth 1.0a three-legged flow through the real callback view, and request signing by the HTTP
client. No OAuth 1.0a server exists on loopback, so the provider is played with `responses` (the
one allowed exception)."""

from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.urls import reverse

from auths.models import Authentication
from connections.http_client import http_request
from tests.connections.helpers import auth_from_result, browser, custom_service, org_kwargs, path_of

pytestmark = pytest.mark.django_db

PROVIDER = "https://oauth1.provider.example"


def oauth1_service(tenant):
    return custom_service(
        tenant,
        auth_scheme="oauth1",
        discouraged_acknowledged=True,
        request_token_url=PROVIDER + "/oauth/request_token",
        authorize_url=PROVIDER + "/oauth/authorize",
        token_url=PROVIDER + "/oauth/access_token",
        base_url=PROVIDER + "/1.1",
        client_id="consumer-key",
        client_secret="consumer-secret-123",
    )


def oauth_params(header) -> dict:
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith("OAuth ")
    pairs = (part.strip().split("=", 1) for part in header[6:].split(","))
    return {k: unquote(v.strip('"')) for k, v in pairs}


@responses.activate
def test_three_legged_flow_and_signed_requests(tenant):
    responses.post(
        PROVIDER + "/oauth/request_token",
        body="oauth_token=request-token&oauth_token_secret=request-secret"
        "&oauth_callback_confirmed=true",
        content_type="application/x-www-form-urlencoded",
    )
    responses.post(
        PROVIDER + "/oauth/access_token",
        body="oauth_token=access-token-1&oauth_token_secret=access-secret-1",
        content_type="application/x-www-form-urlencoded",
    )
    responses.get(PROVIDER + "/1.1/account.json", json={"screen_name": "alice"})
    service = oauth1_service(tenant)
    client = browser(tenant.contributor)

    started = client.post(
        reverse("authentication-oauth-start", kwargs=org_kwargs(tenant)),
        {"service": str(service.pk)},
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    start = started.json()
    assert "discouraged" in start["warnings"][0]
    assert parse_qs(urlsplit(start["authorize_url"]).query) == {"oauth_token": ["request-token"]}
    first = oauth_params(responses.calls[0].request.headers["Authorization"])
    assert first["oauth_consumer_key"] == "consumer-key"
    assert first["oauth_callback"].endswith(f"/api/oauth/callback/{service.pk}/")
    redirect = client.get(path_of(start["start_url"]))
    assert redirect["Location"] == start["authorize_url"]

    callback = reverse("oauth-callback", kwargs={"service_id": service.pk})
    response = client.get(callback + "?oauth_token=request-token&oauth_verifier=verif-1")

    auth = auth_from_result(client, response)
    assert auth.access_token.reveal() == "access-token-1"
    assert auth.token_secret.reveal() == "access-secret-1"
    second = oauth_params(responses.calls[1].request.headers["Authorization"])
    assert second["oauth_token"] == "request-token"
    assert second["oauth_verifier"] == "verif-1"

    result = http_request(authentication=auth, method="GET", path_or_url="/account.json")
    assert result.json() == {"screen_name": "alice"}
    signed = oauth_params(responses.calls[2].request.headers["Authorization"])
    assert signed["oauth_token"] == "access-token-1"
    assert signed["oauth_consumer_key"] == "consumer-key"
    assert signed["oauth_signature_method"] == "HMAC-SHA1"
    assert signed["oauth_signature"]
    # A replayed callback is refused.
    assert client.get(callback + "?oauth_token=request-token&oauth_verifier=x").status_code == 400
    assert Authentication.objects.count() == 1


@responses.activate
def test_request_token_refusal_is_a_clear_error(tenant):
    responses.post(PROVIDER + "/oauth/request_token", status=401, body="consumer-secret-123 bad")
    service = oauth1_service(tenant)
    response = browser(tenant.contributor).post(
        reverse("authentication-oauth-start", kwargs=org_kwargs(tenant)),
        {"service": str(service.pk)},
        content_type="application/json",
    )
    assert response.status_code == 502
    assert "HTTP 401" in response.json()["error"]["message"]
    assert "consumer-secret-123" not in response.content.decode()
