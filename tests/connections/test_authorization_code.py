"""The authorization-code flow through the real callback view, against the loopback OAuth server."""

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse

from auths.models import Authentication, OAuthTransaction
from connections.http_client import http_request
from connections.transactions import CallbackRefused, transaction_claim
from events.models import AuthEvent
from tests.connections.helpers import (
    auth_from_result,
    authorize_redirect,
    browser,
    callback_url,
    connect,
    oauth2_service,
    org_kwargs,
    path_of,
    start_flow,
)

pytestmark = pytest.mark.django_db


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_full_flow_saves_the_auth_and_redirects_to_a_clean_page(tenant, server, resource_owner):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)

    response, start = connect(client, tenant, service, server, resource_owner)

    assert response.status_code == 302
    assert response["Referrer-Policy"] == "no-referrer"
    location = response["Location"]
    assert urlsplit(location).query == ""
    assert location == reverse("oauth-result", kwargs={"transaction_id": start["transaction"]})
    page = client.get(location)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert b"Connected" in page.content

    auth = Authentication.objects.get()
    assert auth.service == service
    assert auth.owner == tenant.membership(tenant.contributor)
    assert auth.workspace.personal_owner == tenant.membership(tenant.contributor)
    assert auth.status == "active"
    assert auth.scopes == ["read", "write"]
    assert auth.refresh_token is not None and auth.refresh_token_issued_at is not None
    assert auth.access_token_expires_at is not None
    assert AuthEvent.objects.filter(authentication=auth, kind="created").count() == 1
    # The auth works: the HTTP client reaches the bearer-protected echo endpoint.
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.status == 200
    assert result.json()["auth"]["username"] == resource_owner["username"]


def test_pkce_verifier_is_sent_to_the_token_endpoint_and_never_in_the_authorize_url(
    tenant, server, resource_owner
):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service)
    redirect = authorize_redirect(client, server, start, resource_owner)
    authorize_query = parse_qs(urlsplit(start["authorize_url"]).query)
    client.get(path_of(redirect))

    sent = server.last_token_request()
    verifier = sent["form"]["code_verifier"]
    assert sent["grant_type"] == "authorization_code"
    assert sent["client_auth"] == "basic"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert authorize_query["code_challenge"] == [challenge.decode()]
    assert authorize_query["code_challenge_method"] == ["S256"]
    assert verifier not in start["authorize_url"]
    assert verifier not in urlencode(authorize_query, doseq=True)
    # Stored sealed, not as plaintext.
    txn = OAuthTransaction.objects.get(pk=start["transaction"])
    assert verifier not in txn.code_verifier.ciphertext
    assert txn.used_at is not None


def test_state_is_stored_only_as_its_hash(tenant, server):
    service = oauth2_service(tenant, server)
    start = start_flow(browser(tenant.contributor), tenant, service)
    state = parse_qs(urlsplit(start["authorize_url"]).query)["state"][0]
    txn = OAuthTransaction.objects.get(pk=start["transaction"])
    assert txn.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert txn.token_url == server.token_url
    assert txn.redirect_uri == callback_url(service)


def test_replayed_state_is_refused(tenant, server, resource_owner):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service)
    redirect = authorize_redirect(client, server, start, resource_owner)
    assert client.get(path_of(redirect)).status_code == 302

    replay = client.get(path_of(redirect))

    assert replay.status_code == 400
    assert replay["Referrer-Policy"] == "no-referrer"
    assert b"already used" in replay.content
    assert Authentication.objects.count() == 1


def test_state_started_by_another_person_is_refused_and_stays_usable_by_its_owner(
    tenant, server, resource_owner
):
    service = oauth2_service(tenant, server)
    victim = browser(tenant.contributor)
    start = start_flow(victim, tenant, service)
    redirect = authorize_redirect(victim, server, start, resource_owner)

    response = browser(tenant.admin).get(path_of(redirect))

    assert response.status_code == 400
    assert b"someone else" in response.content
    assert Authentication.objects.count() == 0
    txn = OAuthTransaction.objects.get(pk=start["transaction"])
    assert txn.used_at is None and txn.result_error == ""
    # Whoever learns a state cannot burn it: the person who started the sign-in still finishes it.
    auth = auth_from_result(victim, victim.get(path_of(redirect)))
    assert auth is not None and auth.owner == tenant.membership(tenant.contributor)
    assert Authentication.objects.count() == 1
    # Once used, it is used.
    assert victim.get(path_of(redirect)).status_code == 400


def test_state_of_another_organization_is_refused_and_stays_usable_by_its_owner(
    tenant, other_tenant, server, resource_owner
):
    service = oauth2_service(tenant, server)
    victim = browser(tenant.contributor)
    start = start_flow(victim, tenant, service)
    redirect = authorize_redirect(victim, server, start, resource_owner)
    txn = OAuthTransaction.objects.get(pk=start["transaction"])

    with pytest.raises(CallbackRefused, match="someone else"):
        transaction_claim(
            user=other_tenant.owner, service=service, state=state_of(redirect), iss=None
        )
    assert browser(other_tenant.owner).get(path_of(redirect)).status_code == 404

    txn.refresh_from_db()
    assert txn.used_at is None
    assert auth_from_result(victim, victim.get(path_of(redirect))) is not None


def test_state_from_another_service_is_refused(tenant, server, resource_owner):
    service_a = oauth2_service(tenant, server)
    service_b = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service_a)
    redirect = authorize_redirect(client, server, start, resource_owner)
    query = urlsplit(redirect).query

    response = client.get(
        reverse("oauth-callback", kwargs={"service_id": service_b.pk}) + "?" + query
    )

    assert response.status_code == 400
    assert b"another service" in response.content
    assert Authentication.objects.count() == 0


def test_missing_and_unknown_state_are_refused(tenant, server):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    url = reverse("oauth-callback", kwargs={"service_id": service.pk})
    assert client.get(url + "?code=abc").status_code == 400
    assert client.get(url + "?code=abc&state=made-up").status_code == 400
    assert Authentication.objects.count() == 0


def test_issuer_mismatch_is_refused(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, issuer=server.issuer)
    server.set_issuer(include=True, issuer="https://evil.example")
    client = browser(tenant.contributor)

    response, _ = connect(client, tenant, service, server, resource_owner)

    assert response.status_code == 400
    assert b"unexpected issuer" in response.content
    assert Authentication.objects.count() == 0
    assert server.counters()["token_requests"] == 0


def test_matching_issuer_is_accepted(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, issuer=server.issuer)
    server.set_issuer(include=True)
    client = browser(tenant.contributor)
    response, _ = connect(client, tenant, service, server, resource_owner)
    assert auth_from_result(client, response) is not None


def test_expired_transaction_is_refused(tenant, server, resource_owner):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service)
    redirect = authorize_redirect(client, server, start, resource_owner)
    OAuthTransaction.objects.filter(pk=start["transaction"]).update(expires_at="2000-01-01T00:00Z")

    response = client.get(path_of(redirect))

    assert response.status_code == 400
    assert b"expired" in response.content
    assert Authentication.objects.count() == 0


def test_code_is_redeemed_at_the_token_url_stored_when_the_flow_started(
    tenant, server, resource_owner
):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service)
    redirect = authorize_redirect(client, server, start, resource_owner)
    service.token_url = "https://attacker.example/token"
    service.save()

    response = client.get(path_of(redirect))

    assert auth_from_result(client, response) is not None
    assert server.counters()["token_requests_by_grant_type"] == {"authorization_code": 1}


def test_access_denied_shows_a_message_and_creates_nothing(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, skip_authorization=False)
    client = browser(tenant.contributor)
    start = start_flow(client, tenant, service)
    redirect = authorize_redirect(client, server, start, resource_owner, approve=False)
    assert parse_qs(urlsplit(redirect).query)["error"] == ["access_denied"]

    response = client.get(path_of(redirect))

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b"You declined access" in page.content
    assert Authentication.objects.count() == 0
    assert server.counters()["token_requests"] == 0


def test_anonymous_callback_is_refused(tenant, server):
    from django.test import Client

    service = oauth2_service(tenant, server)
    response = Client().get(reverse("oauth-callback", kwargs={"service_id": service.pk}))
    assert response.status_code in (401, 403)


def test_reauthenticate_in_place_keeps_the_id(tenant, server, resource_owner):
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    auth = auth_from_result(client, connect(client, tenant, service, server, resource_owner)[0])
    old_version = auth.version
    old_token = auth.access_token.reveal()

    started = client.post(
        reverse("authentication-reauthenticate", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {},
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    redirect = authorize_redirect(client, server, started.json(), resource_owner)
    response = client.get(path_of(redirect))

    again = auth_from_result(client, response)
    assert again.pk == auth.pk
    assert Authentication.objects.count() == 1
    again.refresh_from_db()
    assert again.version == old_version + 1
    assert again.access_token.reveal() != old_token
    assert AuthEvent.objects.filter(authentication=auth, kind="reauthorized").exists()


def test_start_route_of_another_person_is_not_found(tenant, server):
    service = oauth2_service(tenant, server)
    start = start_flow(browser(tenant.contributor), tenant, service)
    response = browser(tenant.admin).get(path_of(start["start_url"]))
    assert response.status_code == 404


def test_pkce_can_be_switched_off_for_providers_that_reject_it(tenant, server):
    service = oauth2_service(tenant, server, pkce=False)
    start = start_flow(browser(tenant.contributor), tenant, service)
    assert "code_challenge" not in start["authorize_url"]
    assert OAuthTransaction.objects.get(pk=start["transaction"]).code_verifier is None


def test_missing_iss_is_refused_when_the_service_declares_an_issuer(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, issuer=server.issuer)
    client = browser(tenant.contributor)
    response, _ = connect(client, tenant, service, server, resource_owner)
    assert response.status_code == 400
    assert b"no iss parameter" in response.content
    assert Authentication.objects.count() == 0
