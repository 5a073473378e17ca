"""Scheduling: the lead window, due dates for every kind of token, and the one-statement claim."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from lifecycle.scheduling import refresh_due_at_for, refresh_lead
from lifecycle.state import claim_sql, due_authentications_claim, schedule
from tests.lifecycle.factories import make_auth, make_service

pytestmark = pytest.mark.django_db


def test_lead_is_five_minutes_or_ten_percent_of_lifetime():
    service = make_service()
    assert refresh_lead(service, 1800) == 300
    assert refresh_lead(service, 3600) == 360


def test_lead_never_exceeds_half_a_short_lifetime():
    assert refresh_lead(make_service(), 120) == 60


def test_service_lead_overrides_the_default():
    assert refresh_lead(make_service(refresh_lead_seconds=900), 86400) == 900


def test_due_at_is_expiry_minus_lead(tenant):
    now = timezone.now()
    auth = make_auth(
        tenant, last_refreshed_at=now, access_token_expires_at=now + timedelta(hours=1)
    )
    assert auth.refresh_due_at == now + timedelta(minutes=54)
    assert Authentication.objects.get(pk=auth.pk).refresh_due_at == auth.refresh_due_at


def test_token_without_expiry_is_scheduled_on_the_default_lifetime(tenant):
    now = timezone.now()
    service = make_service(default_token_lifetime=7200)
    auth = make_auth(tenant, service, last_refreshed_at=now, access_token_expires_at=None)
    assert auth.refresh_due_at == now + timedelta(seconds=7200 - 720)


def test_idle_revocation_pulls_the_refresh_earlier(tenant):
    now = timezone.now()
    service = make_service(default_token_lifetime=30 * 86400, refresh_token_idle_timeout=7 * 86400)
    auth = make_auth(tenant, service, last_refreshed_at=now, access_token_expires_at=None)
    # 10% margin (at most a day) before the provider's 7-day idle revocation
    assert auth.refresh_due_at == now + timedelta(days=7) - timedelta(days=0.7)


def test_non_oauth_and_waiting_auths_have_no_due_date(tenant):
    token_service = make_service(auth_scheme="token", grant_type="")
    assert make_auth(tenant, token_service).refresh_due_at is None
    oauth1 = make_service(auth_scheme="oauth1", grant_type="")
    assert make_auth(tenant, oauth1).refresh_due_at is None
    waiting = make_auth(tenant, status=AuthStatus.NEEDS_REAUTH)
    assert waiting.refresh_due_at is None
    assert refresh_due_at_for(make_auth(tenant, status=AuthStatus.DISABLED)) is None


def _due_auths(tenant, count, *, overdue_by=timedelta(minutes=1)):
    service = make_service()
    now = timezone.now()
    auths = [make_auth(tenant, service, schedule=False) for _ in range(count)]
    Authentication.objects.filter(pk__in=[a.pk for a in auths]).update(
        refresh_due_at=now - overdue_by
    )
    return {a.pk for a in auths}


def test_claim_returns_due_auths_once_and_again_after_the_lease(tenant):
    due = _due_auths(tenant, 5)
    later = make_auth(tenant)  # due in 54 minutes
    now = timezone.now()
    assert set(due_authentications_claim(now=now, lease_seconds=60, limit=100)) == due
    assert due_authentications_claim(now=now, lease_seconds=60, limit=100) == []
    after_lease = now + timedelta(seconds=61)
    assert set(due_authentications_claim(now=after_lease, lease_seconds=60, limit=100)) == due
    assert later.pk not in due


def test_claim_takes_the_most_overdue_first(tenant):
    old = _due_auths(tenant, 2, overdue_by=timedelta(hours=2))
    _due_auths(tenant, 3, overdue_by=timedelta(minutes=1))
    claimed = due_authentications_claim(now=timezone.now(), lease_seconds=60, limit=2)
    assert set(claimed) == old


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_never_claim_the_same_auth(tenant):
    due = _due_auths(tenant, 200)
    results, errors = [], []
    start = threading.Barrier(8)

    def scheduler():
        try:
            start.wait()
            mine = []
            while True:
                batch = due_authentications_claim(now=timezone.now(), lease_seconds=300, limit=7)
                if not batch:
                    break
                mine += batch
            results.append(mine)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    claimed = [pk for batch in results for pk in batch]
    assert len(claimed) == len(set(claimed)) == 200
    assert set(claimed) == due


def test_claim_uses_the_partial_index(tenant):
    _due_auths(tenant, 3)
    now = timezone.now()
    params = [
        connection.ops.adapt_datetimefield_value(now),
        connection.ops.adapt_datetimefield_value(now),
        10,
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + claim_sql(), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "auth_refresh_due_idx" in plan
    assert "SKIP LOCKED" in claim_sql()


def test_schedule_after_a_write_moves_the_due_date(tenant):
    auth = make_auth(tenant)
    now = timezone.now()
    auth.last_refreshed_at = now
    auth.access_token_expires_at = now + timedelta(hours=10)
    auth.save()
    schedule(authentication=auth)
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_due_at == now + timedelta(hours=9)
