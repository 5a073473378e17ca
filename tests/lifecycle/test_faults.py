"""The token lifecycle under faults (issue 10), against the loopback OAuth server: interrupted
refreshes, the reuse grace period, lifetimes no datetime can hold, a delete while a refresh is in
flight, a bug inside an attempt, and expiry evaluation that respects backoff, cooldown and lease."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from connections.authentications import authentication_delete
from events.models import AuthEvent
from lifecycle import policy, state
from lifecycle.expiry import expiry_evaluate_all
from lifecycle.refresh import RefreshRejected, TransientRefreshError, authentication_refresh
from lifecycle.state import due_authentications_claim
from tests.lifecycle.factories import make_auth
from tests.lifecycle.test_refresh import password_auth, refresh_requests


@pytest.mark.django_db
def test_an_interrupted_refresh_is_retried_with_the_same_token_inside_the_grace_period(
    tenant, server, resource_owner, settings
):
    server.update_settings(refresh_token_grace_seconds=60)
    auth = password_auth(tenant, server, resource_owner)
    settings.TOKEN_REQUEST_DEADLINE_SECONDS = 0.5
    # The provider answers after 1.5 s: we cut the call at 0.5 s, it rotates the token anyway.
    server.set_fault("slow:1.5", count=1, grant_type="refresh_token")
    with pytest.raises(TransientRefreshError):
        authentication_refresh(authentication_id=auth.pk, force=True)
    server.wait_idle()
    assert Authentication.objects.get(pk=auth.pk).refresh_interrupted_at is not None

    settings.TOKEN_REQUEST_DEADLINE_SECONDS = 10
    fresh = authentication_refresh(authentication_id=auth.pk, force=True)

    assert fresh.version == auth.version + 1 and fresh.status == AuthStatus.ACTIVE
    assert fresh.refresh_interrupted_at is None
    assert server.tokens(refresh_token=fresh.refresh_token.reveal())["refresh_token_active"]


@pytest.mark.django_db
def test_a_refusal_after_an_interrupted_refresh_is_explained_and_is_no_early_death(
    tenant, server, resource_owner, settings
):
    auth = password_auth(tenant, server, resource_owner)
    settings.TOKEN_REQUEST_DEADLINE_SECONDS = 0.5
    server.set_fault("slow:1.5", count=1, grant_type="refresh_token")
    with pytest.raises(TransientRefreshError):
        authentication_refresh(authentication_id=auth.pk, force=True)
    server.wait_idle()

    settings.TOKEN_REQUEST_DEADLINE_SECONDS = 10
    with pytest.raises(RefreshRejected):  # no grace period: the token we hold was spent
        authentication_refresh(authentication_id=auth.pk, force=True)

    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.NEEDS_REAUTH
    assert "interrupted" in stored.status_reason and "rotated" in stored.status_reason
    assert not any(f["code"] == "expired_early" for f in stored.flags)
    assert not AuthEvent.objects.filter(authentication=auth, kind="expired_early").exists()


@pytest.mark.django_db
def test_a_task_redelivered_after_its_worker_died_explains_a_refusal_too(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    server.revoke_refresh_tokens()  # what the dead worker's call did, as far as we can tell
    assert policy.refresh_attempt(
        authentication_id=auth.pk, redelivered=True, force=True
    ).result == ("rejected")
    stored = Authentication.objects.get(pk=auth.pk)
    assert "interrupted" in stored.status_reason
    assert not AuthEvent.objects.filter(authentication=auth, kind="expired_early").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("expires_in", ["1e400", "99999999999999", "-5", "NaN"])
def test_a_lifetime_no_datetime_can_hold_is_clamped_not_a_crash(
    tenant, server, resource_owner, expires_in
):
    auth = password_auth(tenant, server, resource_owner)
    server.set_fault(f"expires_in:{expires_in}", count=1, grant_type="refresh_token")
    fresh = authentication_refresh(authentication_id=auth.pk, force=True)
    assert fresh.version == auth.version + 1
    lifetime = fresh.access_token_expires_at - fresh.last_refreshed_at
    if expires_in in ("-5", "NaN"):
        assert lifetime == timedelta(seconds=fresh.service.default_token_lifetime)
    else:
        assert timedelta(days=3000) < lifetime <= timedelta(days=3651)


@pytest.mark.django_db(transaction=True)
def test_deleting_an_auth_while_it_refreshes_waits_and_always_completes(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    server.set_fault("slow:1", count=1, grant_type="refresh_token")
    started = threading.Event()

    def refresh():
        try:
            started.set()
            return authentication_refresh(authentication_id=auth.pk, force=True)
        finally:
            connection.close()

    def delete():
        try:
            started.wait()
            server.wait_for_counter("token_requests", 2)  # the refresh holds the row lock now
            actor = tenant.actor(tenant.contributor)
            return authentication_delete(
                actor=actor, authentication=Authentication.objects.get(pk=auth.pk)
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        refreshed, deleted = pool.submit(refresh), pool.submit(delete)
        assert refreshed.result(timeout=30).version == auth.version + 1
        assert deleted.result(timeout=30)["revoked"] is True  # revoked the refreshed token
    assert not Authentication.objects.filter(pk=auth.pk).exists()
    kinds = list(
        AuthEvent.objects.filter(authentication_ref=auth.pk).values_list("kind", flat=True)
    )
    assert "refreshed" in kinds and "deleted" in kinds


@pytest.mark.django_db
def test_a_bug_inside_an_attempt_is_recorded_and_retried(
    tenant, server, resource_owner, monkeypatch
):
    auth = password_auth(tenant, server, resource_owner)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("lifecycle.refresh._call_token_endpoint", broken)
    outcome = policy.refresh_attempt(authentication_id=auth.pk, force=True)
    assert outcome.result == "retry"
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_failures == 1 and "ZeroDivisionError" in stored.last_refresh_error
    assert stored.refresh_due_at > timezone.now()  # retried by the scan, not lost
    assert AuthEvent.objects.filter(authentication=auth, kind="refresh_failed").exists()


# --- expiry evaluation never undoes a backoff, a cooldown or a claim ------------------------------


@pytest.mark.django_db
def test_evaluation_keeps_a_cooldown(tenant):
    auth = make_auth(tenant, access_token_expires_at=timezone.now() + timedelta(minutes=2))
    cooldown_end = timezone.now() + timedelta(minutes=15)
    state.refresh_rescheduled(authentication=auth, due_at=cooldown_end)
    expiry_evaluate_all()
    assert Authentication.objects.get(pk=auth.pk).refresh_due_at == cooldown_end


@pytest.mark.django_db
def test_evaluation_keeps_a_claim_lease_so_the_next_scan_does_not_claim_it_again(tenant):
    now = timezone.now()
    auth = make_auth(  # due now: an hour-long token with 30 s left
        tenant,
        last_refreshed_at=now - timedelta(hours=1),
        access_token_expires_at=now + timedelta(seconds=30),
    )
    now = timezone.now()
    assert due_authentications_claim(now=now, lease_seconds=300, limit=10) == [auth.pk]
    expiry_evaluate_all()
    assert due_authentications_claim(now=timezone.now(), lease_seconds=300, limit=10) == []


@pytest.mark.django_db
def test_a_scheduled_attempt_acts_only_on_its_own_claim(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    Authentication.objects.filter(pk=auth.pk).update(refresh_due_at=timezone.now())
    now = timezone.now()
    [claimed] = due_authentications_claim(now=now, lease_seconds=300, limit=10)
    lease = now + timedelta(seconds=300)
    before = refresh_requests(server)
    first = policy.refresh_attempt(authentication_id=claimed, claimed_until=lease)
    duplicate = policy.refresh_attempt(authentication_id=claimed, claimed_until=lease)
    assert (first.result, duplicate.result) == ("refreshed", "handled")
    assert refresh_requests(server) - before == 1


@pytest.mark.django_db
def test_retries_wait_in_the_database_with_backoff(tenant, server, resource_owner, settings):
    settings.REFRESH_RETRY_BASE_SECONDS = 60
    auth = password_auth(tenant, server, resource_owner)
    server.set_fault("status:503", count=1, grant_type="refresh_token")
    before = timezone.now()
    assert policy.refresh_attempt(authentication_id=auth.pk, force=True).result == "retry"
    due = Authentication.objects.get(pk=auth.pk).refresh_due_at
    assert before + timedelta(seconds=30) <= due <= timezone.now() + timedelta(seconds=60)


@pytest.mark.django_db
def test_a_retry_comes_before_the_token_dies(tenant, server, resource_owner, settings):
    """A burst of failures must not let a working auth expire for want of one more try."""
    settings.REFRESH_RETRY_BASE_SECONDS = 600
    auth = password_auth(tenant, server, resource_owner)
    Authentication.objects.filter(pk=auth.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=20)
    )
    server.set_fault("status:503", count=1, grant_type="refresh_token")
    assert policy.refresh_attempt(authentication_id=auth.pk, force=True).result == "retry"
    due = Authentication.objects.get(pk=auth.pk).refresh_due_at
    assert due <= timezone.now() + timedelta(seconds=16)


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_attempt_does_not_wait_for_a_slot_and_keeps_its_evidence(
    tenant, server, resource_owner, settings
):
    """Its worker died mid-call: only a prompt retry lands in the provider's grace period."""
    settings.REFRESH_SLOTS_PER_SERVICE = 1
    auth = password_auth(tenant, server, resource_owner)
    from django.db import transaction

    from lifecycle.concurrency import service_slot_take

    taken, release = threading.Event(), threading.Event()

    def occupy():
        try:
            with transaction.atomic():
                service_slot_take(auth.service_id)
                taken.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=occupy)
    thread.start()
    taken.wait(timeout=10)
    try:
        outcome = policy.refresh_attempt(authentication_id=auth.pk, redelivered=True, force=True)
    finally:
        release.set()
        thread.join()
    assert outcome.result == "refreshed"  # the slot was taken, the retry went ahead anyway
    assert Authentication.objects.get(pk=auth.pk).refresh_interrupted_at is None  # and succeeded
