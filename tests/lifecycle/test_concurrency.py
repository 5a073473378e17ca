"""One slow provider cannot take every refresh worker: per-service slots (PostgreSQL advisory
locks held by the refresh's transaction), and refreshes on a queue of their own."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from config.celery_app import app
from lifecycle.concurrency import service_slot_take
from lifecycle.policy import scheduled_gate
from tests.lifecycle.factories import make_auth, make_service


@pytest.mark.django_db(transaction=True)
def test_a_service_has_only_so_many_refresh_slots(settings):
    settings.REFRESH_SLOTS_PER_SERVICE = 2
    service, other = make_service(), make_service()
    holding = threading.Barrier(3)
    release = threading.Event()

    def take(service_id):
        try:
            with transaction.atomic():
                taken = service_slot_take(service_id)
                holding.wait(timeout=10)
                release.wait(timeout=10)
                return taken
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [pool.submit(take, service.pk) for _ in range(3)]
        # While the three transactions hold on, another service still has its own slots.
        holding_other = pool.submit(lambda: take_once(other.pk))
        assert holding_other.result(timeout=10) is True
        release.set()
        assert sorted(r.result(timeout=10) for r in results) == [False, True, True]
    # The transactions ended: the slots are free again.
    with transaction.atomic():
        assert service_slot_take(service.pk) is True


def take_once(service_id):
    try:
        with transaction.atomic():
            return service_slot_take(service_id)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_attempt_without_a_slot_keeps_its_claim(tenant, settings):
    settings.REFRESH_SLOTS_PER_SERVICE = 1
    auth = make_auth(tenant)
    now = timezone.now()
    busy = threading.Event()
    done = threading.Event()

    def hold_the_slot():
        try:
            with transaction.atomic():
                assert service_slot_take(auth.service_id)
                busy.set()
                done.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_the_slot)
    thread.start()
    busy.wait(timeout=10)
    with transaction.atomic():
        hold = scheduled_gate(auth, now=now, claimed_until=auth.refresh_due_at, force=True)
    done.set()
    thread.join()
    assert hold.result == "busy" and hold.keep_due  # queued again with its claim, not lost


def test_refreshes_have_a_queue_of_their_own():
    route = app.amqp.router.route({}, "lifecycle.tasks.refresh_authentication")
    assert route["queue"].name == "refresh"
    for name in ("lifecycle.tasks.scan_due_refreshes", "events.tasks.deliver_webhook"):
        assert app.amqp.router.route({}, name)["queue"].name == "celery"
