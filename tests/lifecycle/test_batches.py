"""Refreshes in batches (issue 12): the scan publishes one task per REFRESH_BATCH_SIZE due auths;
a batch refreshes each auth in its own locked attempt, with a bounded pool of threads; one auth's
failure never stops the others and is recorded on it; the statements per refresh stay few."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auths.models import Authentication
from config.celery_app import app
from connections.password_grant import authentication_create_password
from events.models import AuthEvent
from lifecycle import batches, policy, refresh, state
from lifecycle.batches import refresh_batch
from lifecycle.state import due_authentications_claim
from lifecycle.tasks import refresh_authentications, scan_due_refreshes
from tests.connections.helpers import oauth2_service
from tests.lifecycle.factories import make_auth, make_service
from tests.lifecycle.test_refresh import password_auth, refresh_requests


def make_due(auth) -> None:
    """Due now: its access token expires in 30 s."""
    Authentication.objects.filter(pk=auth.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=30),
        refresh_due_at=timezone.now() - timedelta(seconds=1),
    )


def claim_all(lease_seconds=300):
    """The scan's claim: (ids, claimed_until)."""
    now = timezone.now()
    ids = due_authentications_claim(now=now, lease_seconds=lease_seconds, limit=500)
    return [str(pk) for pk in ids], now + timedelta(seconds=lease_seconds)


@pytest.fixture
def broker():
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete("refresh")
    yield client
    client.delete("refresh")


def published(broker) -> list[dict]:
    """The messages on the `refresh` queue: task name, args and kwargs."""
    messages = []
    for raw in reversed(broker.lrange("refresh", 0, -1)):  # LPUSH: the oldest is last
        message = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        messages.append({"task": message["headers"]["task"], "args": args, "kwargs": kwargs})
    return messages


@pytest.mark.django_db
def test_the_scan_publishes_one_task_per_chunk_of_due_auths(tenant, settings, broker):
    settings.REFRESH_BATCH_SIZE = 3
    service = make_service()
    due = [make_auth(tenant, service) for _ in range(7)]
    for auth in due:
        make_due(auth)
    make_auth(tenant, service)  # not due: not published

    assert scan_due_refreshes() == 7

    messages = published(broker)
    assert [m["task"] for m in messages] == ["lifecycle.tasks.refresh_authentications"] * 3
    assert [len(m["args"][0]) for m in messages] == [3, 3, 1]
    assert sorted(pk for m in messages for pk in m["args"][0]) == sorted(str(a.pk) for a in due)
    claims = {m["kwargs"]["claimed_until"] for m in messages}
    assert len(claims) == 1  # each task carries the claim's lease, checked under the row lock
    stored = Authentication.objects.get(pk=due[0].pk).refresh_due_at
    assert stored.isoformat() == claims.pop()


def test_batches_have_the_refresh_queue():
    route = app.amqp.router.route({}, "lifecycle.tasks.refresh_authentications")
    assert route["queue"].name == "refresh"


@pytest.mark.django_db
def test_a_failing_auth_does_not_stop_the_batch_and_its_outcome_is_recorded(
    tenant, server, resource_owner, monkeypatch
):
    auths = [password_auth(tenant, server, resource_owner) for _ in range(3)]
    for auth in auths:
        make_due(auth)
    broken_id = auths[1].pk
    real_call = refresh._call_token_endpoint

    def call(auth):
        if auth.pk == broken_id:
            raise ZeroDivisionError("a bug")
        return real_call(auth)

    monkeypatch.setattr("lifecycle.refresh._call_token_endpoint", call)
    ids, claimed_until = claim_all()

    result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=1)

    assert {pk: o.result for pk, o in result.outcomes.items()} == {
        str(auths[0].pk): "refreshed",
        str(broken_id): "retry",
        str(auths[2].pk): "refreshed",
    }
    assert refresh_requests(server) == 2
    broken = Authentication.objects.get(pk=broken_id)
    assert broken.refresh_failures == 1 and "ZeroDivisionError" in broken.last_refresh_error
    assert broken.refresh_due_at > timezone.now()  # retried by the scan, not lost
    assert AuthEvent.objects.filter(authentication_ref=broken_id, kind="refresh_failed").exists()
    for auth in (auths[0], auths[2]):
        assert Authentication.objects.get(pk=auth.pk).version == auth.version + 1


@pytest.mark.django_db
def test_an_auth_whose_outcome_cannot_be_written_keeps_its_claim_and_the_batch_goes_on(
    tenant, server, resource_owner, monkeypatch
):
    auths = [password_auth(tenant, server, resource_owner) for _ in range(2)]
    for auth in auths:
        make_due(auth)
    first = auths[0].pk

    def broken(auth):
        raise ZeroDivisionError("a bug")

    def unrecordable(*, authentication_id, error, now):
        raise DatabaseError("the database went away")

    real_call = refresh._call_token_endpoint
    monkeypatch.setattr(
        "lifecycle.refresh._call_token_endpoint",
        lambda auth: broken(auth) if auth.pk == first else real_call(auth),
    )
    monkeypatch.setattr(policy, "unexpected_failure_recorded", unrecordable)
    ids, claimed_until = claim_all()

    result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=1)

    assert result.outcomes[str(first)].result == "lost"
    assert result.outcomes[str(auths[1].pk)].result == "refreshed"
    # The claim stands: when its lease runs out, the scan claims the auth again.
    assert Authentication.objects.get(pk=first).refresh_due_at == claimed_until


@pytest.mark.django_db
def test_a_batch_refresh_takes_few_statements_per_auth_and_locks_only_the_auth_row(
    tenant, server, resource_owner
):
    auths = [password_auth(tenant, server, resource_owner) for _ in range(10)]
    for auth in auths:
        make_due(auth)
    ids, claimed_until = claim_all()

    with CaptureQueriesContext(connection) as queries:
        result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=1)

    assert result.counts() == {"refreshed": 10}
    sql = [q["sql"] for q in queries.captured_queries]
    # Per auth: its transaction (2), the row lock, the service's slot, the fenced UPDATE, the
    # event; per batch: services, organizations, webhooks.
    assert len(sql) <= 6 * len(ids) + 3, sql
    locks = [s for s in sql if "FOR UPDATE" in s]
    assert len(locks) == len(ids)
    assert all("JOIN" not in s and "FOR UPDATE OF" in s for s in locks), locks[0]
    assert sum(s.startswith("SELECT") and "auths_webhook" in s for s in sql) == 1


@pytest.mark.django_db(transaction=True)
def test_threads_refresh_a_batch_each_auth_once_and_close_their_connections(
    tenant, server, resource_owner
):
    auths = [password_auth(tenant, server, resource_owner) for _ in range(6)]
    for auth in auths:
        make_due(auth)
    ids, claimed_until = claim_all()

    def connections_open() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    before = connections_open()
    result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=3)
    # The same auths again (a duplicated message): each attempt finds its claim gone.
    again = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=3)
    batches.pool_stop()

    assert result.counts() == {"refreshed": 6}
    assert again.counts() == {"handled": 6}
    assert refresh_requests(server) == 6
    for auth in auths:
        assert Authentication.objects.get(pk=auth.pk).version == auth.version + 1
        assert AuthEvent.objects.filter(authentication_ref=auth.pk, kind="refreshed").count() == 1
    assert connections_open() == before


@pytest.mark.django_db
def test_the_batch_task_returns_its_outcomes(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    make_due(auth)
    ids, claimed_until = claim_all()
    assert refresh_authentications(ids, claimed_until.isoformat()) == {"refreshed": 1}


@pytest.mark.django_db
def test_an_auth_deleted_since_it_was_queued_is_skipped_and_the_batch_goes_on(
    tenant, server, resource_owner
):
    auths = [password_auth(tenant, server, resource_owner) for _ in range(2)]
    for auth in auths:
        make_due(auth)
    ids, claimed_until = claim_all()
    Authentication.objects.filter(pk=auths[0].pk).delete()

    result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=1)

    assert result.outcomes[str(auths[0].pk)].result == "skipped"
    assert result.outcomes[str(auths[1].pk)].result == "refreshed"


@pytest.mark.django_db
def test_a_failed_attempts_retry_does_not_undo_a_refresh_made_meanwhile(
    tenant, server, resource_owner
):
    """A hand-queued attempt fails while a claimed batch waits on the row lock; the batch then
    refreshes. The failed attempt schedules its retry after its transaction, outside the lock:
    it must not pull the fresh auth's due time back (the scan would refresh it again)."""
    auth = password_auth(tenant, server, resource_owner)
    failed = Authentication.objects.get(pk=auth.pk)  # the row as the failing attempt read it
    fresh = refresh.authentication_refresh(authentication_id=auth.pk, force=True)
    now = timezone.now()

    assert not state.retry_scheduled(
        authentication=failed, failed_at=now, due_at=now + timedelta(seconds=1)
    )
    state.retries_exhausted(authentication=failed, message="HTTP 503", next_try=now, now=now)

    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_due_at == fresh.refresh_due_at > now + timedelta(minutes=5)
    assert stored.last_refresh_failed_at is None and stored.status == "active"


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_its_own_slot_holders_instead_of_handing_auths_back(
    tenant, server, resource_owner, settings
):
    """A batch is mostly one provider's auths: with one slot and two threads, the thread that
    finds the slot taken by its sibling tries again when the sibling's attempt ends, instead of
    handing the auth back to the broker as busy."""
    settings.REFRESH_SLOTS_PER_SERVICE = 1
    service = oauth2_service(tenant, server, grant_type="password")
    auths = [
        authentication_create_password(
            actor=tenant.actor(tenant.contributor),
            service=service,
            username=resource_owner["username"],
            password=resource_owner["password"],
        )
        for _ in range(4)
    ]
    for auth in auths:
        make_due(auth)
    ids, claimed_until = claim_all()

    result = refresh_batch(authentication_ids=ids, claimed_until=claimed_until, threads=2)
    batches.pool_stop()

    assert result.counts() == {"refreshed": 4} and not result.not_started
    assert refresh_requests(server) == 4
