"""Event retention (events/retention.py): events past EVENT_RETENTION_DAYS are deleted in batches,
oldest first, with progress; the latest event of each kind of each auth is kept at any age (and,
for events with no auth, the latest of each kind per organization). The beat task and the
management command run the same code, here for real against PostgreSQL."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from events import tasks
from events.models import AuthEvent, WebhookDelivery
from events.retention import PruneProgress, events_prune
from tests.conftest import build_tenant
from tests.lifecycle.factories import make_auth, make_service, make_webhook

pytestmark = pytest.mark.django_db


def event(*, auth=None, organization=None, kind="refreshed", days_ago: float) -> AuthEvent:
    """An event `days_ago` old (created_at is set by the database on insert, so it is moved)."""
    organization_id = auth.organization_id if auth else organization.pk
    row = AuthEvent.objects.create(
        organization_id=organization_id,
        authentication=auth,
        authentication_ref=auth.pk if auth else None,
        authentication_name=auth.name if auth else "",
        service_id=auth.service_id if auth else None,
        kind=kind,
    )
    AuthEvent.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return row


def remaining() -> set[int]:
    return set(AuthEvent.objects.values_list("pk", flat=True))


def test_old_events_go_but_the_latest_of_each_kind_of_each_auth_stays(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    auth, other = make_auth(tenant), make_auth(tenant)
    old_refreshes = [event(auth=auth, days_ago=days) for days in (300, 200, 120)]
    latest_refresh = event(auth=auth, days_ago=100)  # old, but the newest `refreshed`
    created = event(auth=auth, kind="created", days_ago=400)  # the only `created`
    recent = event(auth=auth, days_ago=10)
    others_only_refresh = event(auth=other, days_ago=365)

    assert events_prune() == len(old_refreshes) + 1  # the 100-day refresh is superseded too

    assert remaining() == {created.pk, recent.pk, others_only_refresh.pk}
    assert latest_refresh.pk not in remaining()


def test_an_old_event_that_is_the_latest_of_its_kind_is_kept(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 30
    auth = make_auth(tenant)
    refused = event(auth=auth, kind="needs_reauth", days_ago=200)
    event(auth=auth, kind="needs_reauth", days_ago=250)

    events_prune()

    assert remaining() == {refused.pk}


def test_events_of_no_auth_keep_the_latest_of_each_kind_per_organization(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    other = build_tenant(name="Other")
    older = event(organization=tenant.organization, kind="service_flagged", days_ago=300)
    newest = event(organization=tenant.organization, kind="service_flagged", days_ago=200)
    elsewhere = event(organization=other.organization, kind="service_flagged", days_ago=400)

    assert events_prune() == 1

    assert older.pk not in remaining()
    assert {newest.pk, elsewhere.pk} <= remaining()


def test_pruning_goes_in_batches_oldest_first_with_progress(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    auth = make_auth(tenant)
    old = [event(auth=auth, days_ago=days) for days in (500, 400, 300, 200, 150)]
    event(auth=auth, days_ago=1)
    seen: list[PruneProgress] = []

    deleted = events_prune(batch_size=2, progress=seen.append)

    assert deleted == 5
    assert [(p.batch, p.deleted, p.done) for p in seen] == [
        (2, 2, False),
        (2, 4, False),
        (1, 5, True),
    ]
    assert not {e.pk for e in old} & remaining()


def test_a_spent_time_budget_stops_after_the_batch_and_the_next_run_goes_on(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    auth = make_auth(tenant)
    for days in (500, 400, 300, 200):
        event(auth=auth, days_ago=days)
    event(auth=auth, days_ago=1)

    assert events_prune(batch_size=2, time_budget_seconds=0) == 2
    assert events_prune(batch_size=2) == 2
    assert AuthEvent.objects.count() == 1


def test_a_pruned_event_takes_its_deliveries_along(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    auth = make_auth(tenant)
    old = event(auth=auth, days_ago=200)
    kept = event(auth=auth, days_ago=5)
    webhook = make_webhook(tenant)
    WebhookDelivery.objects.create(webhook=webhook, event=old)
    WebhookDelivery.objects.create(webhook=webhook, event=kept)

    assert events_prune() == 1
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [kept.pk]


def test_zero_days_keeps_everything(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 0
    auth = make_auth(tenant)
    event(auth=auth, days_ago=1000)
    event(auth=auth, days_ago=900)

    assert events_prune() == 0
    assert AuthEvent.objects.count() == 2


def test_the_beat_task_prunes_with_the_setting(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 7
    auth = make_auth(tenant, service=make_service())
    event(auth=auth, days_ago=8)
    newest = event(auth=auth, days_ago=6)

    assert tasks.prune_events() == 1  # the task's own code, run here against PostgreSQL
    assert remaining() == {newest.pk}


def test_the_task_is_on_the_beat_schedule(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "events.tasks.prune_events" in schedule


def test_the_command_shows_progress(tenant, settings):
    settings.EVENT_RETENTION_DAYS = 90
    auth = make_auth(tenant)
    for days in (400, 300, 200):
        event(auth=auth, days_ago=days)
    event(auth=auth, days_ago=1)
    out = StringIO()

    call_command("prune_events", "--batch-size", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Pruned 2 events older than") and "(2 so far)" in lines[0]
    assert "(3 so far)" in lines[1]
    assert lines[-1] == "Done: 3 events pruned."


def test_the_command_takes_days(tenant):
    auth = make_auth(tenant)
    event(auth=auth, days_ago=20)
    kept = event(auth=auth, days_ago=5)
    out = StringIO()

    call_command("prune_events", "--days", "10", stdout=out)

    assert remaining() == {kept.pk}
    assert "Done: 1 events pruned." in out.getvalue()
