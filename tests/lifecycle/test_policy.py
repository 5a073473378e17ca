"""Refresh policy: backoff with jitter that honours Retry-After, and the cooldown window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from lifecycle.policy import backoff_seconds, in_cooldown, refresh_attempt
from tests.lifecycle.factories import make_auth

pytestmark = pytest.mark.django_db


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.REFRESH_RETRY_BASE_SECONDS = 10
    settings.REFRESH_RETRY_MAX_SECONDS = 600
    for attempt, ceiling in ((0, 10), (1, 20), (2, 40), (3, 80)):
        delays = {backoff_seconds(attempt=attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so failing auths do not retry in lockstep


def test_backoff_is_capped_and_never_sooner_than_retry_after(settings):
    settings.REFRESH_RETRY_BASE_SECONDS = 10
    settings.REFRESH_RETRY_MAX_SECONDS = 60
    assert backoff_seconds(attempt=20) <= 60
    assert backoff_seconds(attempt=0, retry_after=120) >= 120


def test_cooldown_window_follows_the_last_failure(tenant, settings):
    settings.REFRESH_FAILURE_COOLDOWN_SECONDS = 30
    now = timezone.now()
    auth = make_auth(tenant, last_refresh_failed_at=now - timedelta(seconds=10))
    assert in_cooldown(auth, now) == now + timedelta(seconds=20)
    assert in_cooldown(auth, now + timedelta(seconds=21)) is None


def test_a_fresh_auth_is_not_refreshed_and_keeps_its_due_date(tenant):
    auth = make_auth(tenant)  # expires in an hour: not due
    assert refresh_attempt(authentication_id=auth.pk).result == "fresh"
    auth.refresh_from_db()
    assert auth.version == 1 and auth.refresh_due_at > timezone.now()


def test_a_deleted_auth_is_skipped(tenant):
    auth = make_auth(tenant)
    pk = auth.pk
    auth.delete()
    assert refresh_attempt(authentication_id=pk).result == "skipped"
