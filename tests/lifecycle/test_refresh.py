"""authentication_refresh against the loopback server: rotation persisted, old refresh token kept
when none comes back, rejection -> needs_reauth, transient failures keep working credentials, and
one token request however many callers race."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from auths.models import Authentication
from connections.client_credentials import authentication_create_client_credentials
from connections.password_grant import authentication_create_password
from events.models import AuthEvent
from lifecycle import early_expiry
from lifecycle.refresh import (
    RefreshNotSupported,
    RefreshRejected,
    TransientRefreshError,
    authentication_refresh,
)
from lifecycle.state import refresh_rejected
from tests.connections.helpers import custom_service, oauth2_service


def password_auth(tenant, server, resource_owner, **service_fields):
    service = oauth2_service(tenant, server, grant_type="password", **service_fields)
    return authentication_create_password(
        actor=tenant.actor(tenant.contributor),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )


def refresh_requests(server) -> int:
    return server.counters()["token_requests_by_grant_type"].get("refresh_token", 0)


@pytest.mark.django_db
def test_rotated_refresh_token_is_persisted(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    old_refresh = auth.refresh_token.reveal()
    old_access = auth.access_token.reveal()

    fresh = authentication_refresh(authentication_id=auth.pk, force=True)

    stored = Authentication.objects.get(pk=auth.pk)
    new_refresh = stored.refresh_token.reveal()
    assert new_refresh != old_refresh
    assert stored.access_token.reveal() != old_access
    assert stored.version == auth.version + 1 == fresh.version
    assert stored.refresh_token_issued_at > auth.refresh_token_issued_at
    assert stored.last_refreshed_at is not None
    state = server.tokens(refresh_token=new_refresh)
    assert state["refresh_token_active"] is True
    assert server.tokens(refresh_token=old_refresh)["refresh_token_active"] is False
    event = AuthEvent.objects.get(authentication=auth, kind="refreshed")
    assert event.data["refresh_token_rotated"] is True


@pytest.mark.django_db
def test_response_without_refresh_token_keeps_the_old_one(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    old_refresh = auth.refresh_token.reveal()
    server.set_fault("no_refresh_token", count=1, grant_type="refresh_token")

    authentication_refresh(authentication_id=auth.pk, force=True)

    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_token.reveal() == old_refresh
    assert stored.refresh_token_issued_at == auth.refresh_token_issued_at
    assert stored.version == auth.version + 1


@pytest.mark.django_db
def test_invalid_grant_marks_needs_reauth_and_runs_the_early_expiry_analysis(
    tenant, server, resource_owner, monkeypatch
):
    auth = password_auth(tenant, server, resource_owner)
    seen = []
    monkeypatch.setattr(
        early_expiry, "rejection_analyse", lambda authentication: seen.append(authentication.pk)
    )
    server.revoke_refresh_tokens()

    with pytest.raises(RefreshRejected) as raised:
        authentication_refresh(authentication_id=auth.pk, force=True)

    assert raised.value.error == "invalid_grant"
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == "needs_reauth"
    assert "invalid_grant" in stored.status_reason and "Re-authenticate" in stored.status_reason
    assert stored.access_token.reveal() == auth.access_token.reveal()
    assert AuthEvent.objects.filter(authentication=auth, kind="needs_reauth").count() == 1
    assert seen == [auth.pk]
    assert stored.refresh_due_at is None
    # Known dead: a second call does not ask the provider again.
    before = refresh_requests(server)
    with pytest.raises(RefreshRejected):
        authentication_refresh(authentication_id=auth.pk, force=True)
    assert refresh_requests(server) == before


@pytest.mark.django_db
def test_transient_failure_keeps_credentials_and_carries_retry_after(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    server.set_fault("status:503", count=1, retry_after=7, grant_type="refresh_token")

    with pytest.raises(TransientRefreshError) as raised:
        authentication_refresh(authentication_id=auth.pk, force=True)

    assert raised.value.retry_after == 7
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == "active"
    assert stored.refresh_token.reveal() == auth.refresh_token.reveal()
    assert stored.access_token.reveal() == auth.access_token.reveal()
    assert stored.version == auth.version
    assert stored.refresh_failures == 1
    assert "503" in stored.last_refresh_error
    # The next attempt works and clears the failure count.
    authentication_refresh(authentication_id=auth.pk, force=True)
    assert Authentication.objects.get(pk=auth.pk).refresh_failures == 0


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["html", "error_200", "no_access_token", "status:429"])
def test_malformed_or_throttled_answers_are_transient(tenant, server, resource_owner, mode):
    auth = password_auth(tenant, server, resource_owner)
    refresh_token = auth.refresh_token.reveal()
    server.set_fault(mode, count=1, grant_type="refresh_token")

    with pytest.raises(TransientRefreshError) as raised:
        authentication_refresh(authentication_id=auth.pk, force=True)

    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_token.reveal() == refresh_token
    assert refresh_token not in raised.value.description
    assert refresh_token not in stored.last_refresh_error
    assert stored.last_refresh_error


@pytest.mark.django_db
def test_timeout_is_transient_and_leaves_evidence_of_an_unknown_outcome(
    tenant, server, resource_owner, settings
):
    auth = password_auth(tenant, server, resource_owner)
    settings.TOKEN_REQUEST_DEADLINE_SECONDS = 0.5
    server.set_fault("slow:1.5", count=1, grant_type="refresh_token")

    with pytest.raises(TransientRefreshError) as raised:
        authentication_refresh(authentication_id=auth.pk, force=True)

    assert "did not answer within 0.5 s" in raised.value.description
    # The provider may have processed it: with rotating tokens ours may be spent.
    assert Authentication.objects.get(pk=auth.pk).refresh_interrupted_at is not None
    server.wait_idle()


@pytest.mark.django_db
def test_not_due_and_not_forced_makes_no_request(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    before = server.counters()["token_requests"]
    same = authentication_refresh(authentication_id=auth.pk)
    assert same.version == auth.version
    assert server.counters()["token_requests"] == before


@pytest.mark.django_db
def test_due_refreshes_without_force(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    # A one-hour token with 30 seconds left (granted, with its refresh token, 3570 s ago).
    Authentication.objects.filter(pk=auth.pk).update(
        consented_at=timezone.now() - timedelta(seconds=3570),
        refresh_token_issued_at=timezone.now() - timedelta(seconds=3570),
        access_token_expires_at=timezone.now() + timedelta(seconds=30),
    )
    fresh = authentication_refresh(authentication_id=auth.pk)
    assert fresh.version == auth.version + 1


@pytest.mark.django_db
def test_a_caller_with_a_stale_version_does_not_refresh_again(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    authentication_refresh(authentication_id=auth.pk, force=True)
    before = refresh_requests(server)

    fresh = authentication_refresh(authentication_id=auth.pk, force=True, seen_version=auth.version)

    assert refresh_requests(server) == before
    assert fresh.version == auth.version + 1


@pytest.mark.django_db
def test_client_credentials_refresh_fetches_a_new_token(tenant, server):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    auth = authentication_create_client_credentials(
        actor=tenant.actor(tenant.contributor), service=service
    )
    assert auth.refresh_token is None

    fresh = authentication_refresh(authentication_id=auth.pk, force=True)

    assert fresh.access_token.reveal() != auth.access_token.reveal()
    assert server.counters()["token_requests_by_grant_type"]["client_credentials"] == 2


@pytest.mark.django_db
def test_token_auths_do_not_refresh(tenant):
    service = custom_service(tenant, base_url="https://api.example.com")
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="key",
        api_key="k-1",
    )
    with pytest.raises(RefreshNotSupported):
        authentication_refresh(authentication_id=auth.pk, force=True)


@pytest.mark.django_db
def test_refresh_uses_refresh_url_and_client_auth_in_body(tenant, server, resource_owner):
    auth = password_auth(
        tenant,
        server,
        resource_owner,
        refresh_url=server.token_url.replace("127.0.0.1", "localhost"),
        client_auth_method="body",
    )
    authentication_refresh(authentication_id=auth.pk, force=True)
    sent = server.last_token_request()
    assert sent["headers"]["Host"].startswith("localhost:")
    assert sent["client_auth"] == "body"


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_refreshes_send_exactly_one_token_request(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    seen_version = auth.version
    before = refresh_requests(server)
    barrier = threading.Barrier(50)

    def refresh(_):
        try:
            barrier.wait(timeout=30)
            return authentication_refresh(
                authentication_id=auth.pk, force=True, seen_version=seen_version
            ).version
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        versions = list(pool.map(refresh, range(50)))

    assert refresh_requests(server) - before == 1
    assert server.counters()["refresh_refused"] == 0
    assert versions == [seen_version + 1] * 50
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == "active"
    assert server.tokens(refresh_token=stored.refresh_token.reveal())["refresh_token_active"]
    assert server.tokens(access_token=stored.access_token.reveal())["access_token_active"]


@pytest.mark.django_db
def test_misconfigured_service_is_a_recorded_transient_failure(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    auth.service.token_url = server.token_url + "{{missing}}"
    auth.service.save()

    with pytest.raises(TransientRefreshError) as raised:
        authentication_refresh(authentication_id=auth.pk, force=True)

    assert "missing" in raised.value.description
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_failures == 1
    assert stored.refresh_token.reveal() == auth.refresh_token.reveal()


def test_a_providers_own_full_stop_is_not_doubled_in_the_reason(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    rejection = RefreshRejected("invalid_grant", "The refresh token was revoked.")
    refresh_rejected(authentication=auth, error=rejection, now=timezone.now())

    reason = Authentication.objects.get(pk=auth.pk).status_reason
    assert reason.endswith(
        "(invalid_grant): The refresh token was revoked. Re-authenticate to reconnect."
    )
