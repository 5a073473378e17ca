"""The token lifecycle end to end: a real Celery worker subprocess (prefork, 2 processes) on the
pytest PostgreSQL database and Redis, refreshing real tokens at the loopback OAuth server (which
rotates refresh tokens and revokes the whole family when a rotated one is replayed)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from events.models import AuthEvent, DeliveryStatus, WebhookDelivery
from events.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_signature_valid,
)
from lifecycle.tasks import refresh_authentication, scan_due_refreshes
from services.models import Service
from tests.events.webhook_receiver import WebhookReceiver
from tests.lifecycle.factories import make_auth, make_service, make_webhook
from tests.lifecycle.worker import Worker, issue_tokens, refresh_count, wait_for
from tests.oauth_server.fixture import oauth_server  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        running = Worker(tmp_path_factory.mktemp("worker") / "worker.log").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def provider(oauth_server):  # noqa: F811
    user = oauth_server.create_user("lifecycle-alice")
    client = oauth_server.create_application(grant_type="password")
    return user, client


@pytest.fixture
def server(oauth_server, worker, settings):  # noqa: F811
    oauth_server.reset()
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    settings.REFRESH_CLAIM_LEASE_SECONDS = 30
    yield oauth_server
    oauth_server.clear_fault()
    worker.wait_idle()


def real_auth(tenant, server, provider, *, expired=False, **service_values):
    """An auth holding real tokens, due now: issued 50 s ago with a 60 s lifetime (lead 30 s), so
    it expires in 10 s (or expired 1 s ago)."""
    user, client = provider
    tokens = issue_tokens(server, client, user)
    service = make_service(
        token_url=server.token_url,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        rotates_refresh_tokens=True,
        **service_values,
    )
    issued = timezone.now() - timedelta(seconds=61 if expired else 50)
    auth = make_auth(
        tenant,
        service,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        last_refreshed_at=issued,
        consented_at=issued,
        refresh_token_issued_at=issued,
        access_token_expires_at=issued + timedelta(seconds=60),
    )
    return auth, tokens


def drive(predicate, *, message, timeout=30.0):
    """Wait for `predicate` while doing beat's job: a scan at every poll claims the auths whose
    retry is due (retries wait in the database, not in the broker)."""

    def scanned():
        scan_due_refreshes.delay()
        return predicate()

    return wait_for(scanned, timeout=timeout, interval=0.2, message=message)


def stored(auth) -> Authentication:
    return Authentication.objects.select_related("service").get(pk=auth.pk)


def kinds(auth) -> list[str]:
    return list(
        AuthEvent.objects.filter(authentication_ref=auth.pk)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )


def healthy_at_server(server, auth) -> bool:
    state = server.tokens(
        access_token=auth.access_token.reveal(), refresh_token=auth.refresh_token.reveal()
    )
    return state["access_token_active"] and state["refresh_token_active"]


def test_a_due_auth_is_refreshed_by_the_scan_before_it_expires(worker, server, provider, tenant):
    auth, _ = real_auth(tenant, server, provider)
    expires = auth.access_token_expires_at
    scan_due_refreshes.delay()
    wait_for(lambda: stored(auth).version > 1, message="the scan's refresh")
    worker.wait_idle()
    fresh = stored(auth)
    assert fresh.last_refreshed_at < expires
    assert fresh.status == AuthStatus.ACTIVE
    assert refresh_count(server) == 1
    assert healthy_at_server(server, fresh)
    # Rescheduled on the new token (3600 s): due 6 minutes before it expires.
    assert fresh.refresh_due_at == fresh.access_token_expires_at - timedelta(seconds=360)
    assert "refreshed" in kinds(auth)


def test_fifty_concurrent_refresh_tasks_make_exactly_one_token_request(
    worker, server, provider, tenant
):
    auth, tokens = real_auth(tenant, server, provider)
    server.set_fault("slow:1", count=1)  # the first request is slow: the others pile up
    for _ in range(50):
        refresh_authentication.delay(str(auth.pk))
    worker.wait_idle()
    server.wait_idle()
    counters = server.counters()
    assert counters["token_requests_by_grant_type"].get("refresh_token") == 1
    assert counters["refresh_refused"] == 0
    fresh = stored(auth)
    assert fresh.version == 2 and fresh.status == AuthStatus.ACTIVE
    assert fresh.refresh_token.reveal() != tokens["refresh_token"]  # rotated and persisted
    assert healthy_at_server(server, fresh)
    assert kinds(auth).count("refreshed") == 1


def test_a_worker_killed_mid_refresh_leaves_the_auth_refreshed_or_needs_reauth(
    worker, server, provider, tenant
):
    auth, _ = real_auth(tenant, server, provider)
    server.set_fault("slow:3", count=1)
    refresh_authentication.delay(str(auth.pk))
    server.wait_for_counter("token_requests", 2)  # the issue + the refresh, now in flight
    assert worker.kill_children()
    # acks_late + reject_on_worker_lost: the message goes back to the queue and a new pool
    # process refreshes; the killed transaction was rolled back, so no half-written credentials.
    worker.wait_idle(timeout=90)
    server.wait_idle(timeout=30)
    assert "WorkerLostError" in worker.output() or "signal 9" in worker.output()
    # Whatever the provider did with the abandoned request (here it replays the old refresh
    # token after our redelivered refresh rotated it, so the provider revokes the whole family),
    # the next refresh tells the truth.
    version = stored(auth).version
    refresh_authentication.delay(str(auth.pk), True)
    wait_for(
        lambda: stored(auth).status == AuthStatus.NEEDS_REAUTH or stored(auth).version > version,
        message="the forced refresh",
    )
    final = stored(auth)
    if final.status == AuthStatus.NEEDS_REAUTH:
        assert "refused" in final.status_reason
        assert "needs_reauth" in kinds(auth)
    else:
        assert final.status == AuthStatus.ACTIVE and final.version > 1
        assert healthy_at_server(server, final)


@pytest.mark.parametrize(
    ("fault", "count", "failures"),
    [
        ("status:503", 2, 2),  # flaky
        ("status:429", 1, 1),  # rate limited (Retry-After honoured)
        ("html", 1, 1),  # an HTML error page
        ("error_200", 1, 1),  # HTTP 200 carrying an error
        ("no_access_token", 1, 1),
        ("slow:2", 1, 0),
    ],
)
def test_transient_provider_faults_are_retried_and_recover(
    worker, server, provider, tenant, fault, count, failures
):
    auth, tokens = real_auth(tenant, server, provider)
    server.set_fault(fault, count=count, retry_after=1 if fault == "status:429" else None)
    refresh_authentication.delay(str(auth.pk))
    drive(lambda: stored(auth).version > 1, message=f"recovery from {fault}")
    worker.wait_idle()
    fresh = stored(auth)
    assert fresh.status == AuthStatus.ACTIVE and fresh.refresh_failures == 0
    assert refresh_count(server) == failures + 1
    assert healthy_at_server(server, fresh)
    events = kinds(auth)
    assert events.count("refresh_failed") == failures
    if failures:
        assert "recovered" in events


def test_a_response_without_expires_in_is_still_scheduled(worker, server, provider, tenant):
    auth, _ = real_auth(tenant, server, provider, default_token_lifetime=1800)
    server.set_fault("no_expires_in", count=1)
    refresh_authentication.delay(str(auth.pk))
    wait_for(lambda: stored(auth).version > 1, message="the refresh")
    fresh = stored(auth)
    lifetime = (fresh.access_token_expires_at - fresh.last_refreshed_at).total_seconds()
    assert lifetime == pytest.approx(1800, abs=2)
    assert fresh.refresh_due_at == fresh.access_token_expires_at - timedelta(seconds=300)


def test_a_response_without_a_new_refresh_token_keeps_the_old_one(worker, server, provider, tenant):
    auth, tokens = real_auth(tenant, server, provider)
    server.set_fault("no_refresh_token", count=1)
    refresh_authentication.delay(str(auth.pk))
    wait_for(lambda: stored(auth).version > 1, message="the refresh")
    fresh = stored(auth)
    assert fresh.status == AuthStatus.ACTIVE
    assert fresh.refresh_token.reveal() == tokens["refresh_token"]
    assert server.tokens(access_token=fresh.access_token.reveal())["access_token_active"]


def test_failures_past_expiry_become_error_then_recover(worker, server, provider, tenant):
    auth, tokens = real_auth(tenant, server, provider, expired=True)
    server.set_fault("status:503")
    refresh_authentication.delay(str(auth.pk))
    drive(lambda: stored(auth).status == AuthStatus.ERROR, message="status error")
    failed = stored(auth)
    # Working credentials were never overwritten by the failed attempts.
    assert failed.refresh_token.reveal() == tokens["refresh_token"] and failed.version == 1
    assert "expired" in failed.status_reason
    assert refresh_count(server) == 4  # the first attempt + 3 retries, then a cooldown
    server.clear_fault()

    # Beat's job: the auth is due again after its cooldown.
    drive(lambda: stored(auth).status == AuthStatus.ACTIVE, message="recovery")
    worker.wait_idle()
    assert {"error", "recovered"} <= set(kinds(auth))
    assert healthy_at_server(server, stored(auth))


def test_cooldown_stops_a_refresh_storm_on_a_failing_auth(worker, server, provider, tenant):
    auth, _ = real_auth(tenant, server, provider)
    Authentication.objects.filter(pk=auth.pk).update(
        last_refresh_failed_at=timezone.now() + timedelta(seconds=30)  # "just failed"
    )
    for _ in range(20):
        refresh_authentication.delay(str(auth.pk))
    worker.wait_idle()
    assert refresh_count(server) == 0
    assert stored(auth).refresh_due_at > timezone.now()


def test_a_declared_short_refresh_token_lifetime_is_predicted(worker, server, provider, tenant):
    server.set_lifetimes(refresh_token_seconds=2 * 86400, include_refresh_token_expires_in=True)
    auth, _ = real_auth(tenant, server, provider)
    refresh_authentication.delay(str(auth.pk))
    wait_for(lambda: stored(auth).status == AuthStatus.EXPIRING, message="expiring")
    fresh = stored(auth)
    expected = fresh.last_refreshed_at + timedelta(days=2)
    assert abs(fresh.refresh_token_expires_at - expected) < timedelta(seconds=5)
    assert "declared" in fresh.refresh_token_expiry_reason
    assert "Dies on" in fresh.status_reason


def test_an_undeclared_short_lifetime_is_detected_and_flags_the_service(
    worker, server, provider, tenant
):
    first, _ = real_auth(tenant, server, provider)
    service = first.service
    auths = [first]
    for _ in range(2):
        user, client = provider
        tokens = issue_tokens(server, client, user)
        auths.append(
            make_auth(
                tenant,
                service,
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
                consented_at=first.consented_at,
                last_refreshed_at=first.last_refreshed_at,
                access_token_expires_at=first.access_token_expires_at,
            )
        )
    server.set_lifetimes(refresh_token_seconds=0)  # the server now refuses every refresh token
    for auth in auths:
        refresh_authentication.delay(str(auth.pk))
    wait_for(
        lambda: all(stored(a).status == AuthStatus.NEEDS_REAUTH for a in auths),
        message="needs_reauth",
    )
    worker.wait_idle()
    for auth in auths:
        assert any(f["code"] == "expired_early" for f in stored(auth).flags)
    service = Service.objects.get(pk=service.pk)
    assert service.suspected_test_status is True
    assert {a["authentication_id"] for a in service.suspected_evidence["auths"]} == {
        str(a.pk) for a in auths
    }
    assert "publish" in service.suspected_evidence["advice"]
    assert AuthEvent.objects.filter(service=service, kind="service_flagged").count() == 1


def test_webhooks_are_signed_and_retried_by_the_worker(worker, server, provider, tenant):
    with WebhookReceiver(fail_first=1) as receiver:
        webhook = make_webhook(tenant, url=receiver.url, events=["needs_reauth"])
        auth, tokens = real_auth(tenant, server, provider)
        server.revoke_refresh_tokens(tokens["refresh_token"])
        refresh_authentication.delay(str(auth.pk))
        wait_for(
            lambda: WebhookDelivery.objects.filter(
                webhook=webhook, status=DeliveryStatus.DELIVERED
            ).exists(),
            message="the webhook delivery",
        )
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.attempts == 2 and delivery.response_status == 204
    first, second = receiver.requests
    assert first["headers"][EVENT_HEADER] == second["headers"][EVENT_HEADER]
    assert webhook_signature_valid(
        secret="whsec-0123456789abcdef",
        timestamp=int(second["headers"][TIMESTAMP_HEADER]),
        body=second["body"],
        signature=second["headers"][SIGNATURE_HEADER],
    )
    payload = json.loads(second["body"])
    assert payload["type"] == "auth.needs_reauth"
    assert payload["authentication"]["status"] == "needs_reauth"
    assert tokens["refresh_token"] not in second["body"].decode()
