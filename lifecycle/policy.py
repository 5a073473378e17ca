"""Decisions around one scheduled refresh (the Celery task's attempt): is it still needed, is the
auth cooling down after a failure, how long to back off, when transient failures become `error`.

The critical section itself (row lock, token call, persisting rotated tokens) is
lifecycle/refresh.py; this module never writes credentials, so a failed attempt cannot overwrite
working ones.

Failure taxonomy:
- rejected (invalid_grant / unauthorized_client): the auth is needs_reauth; no retry.
- transient (timeouts, 5xx, 429, HTML, HTTP 200 with an error body, no access_token): retried with
  exponential backoff and jitter, never sooner than the provider's Retry-After. The auth stays
  usable while its access token lives; when retries are exhausted AND the access token has expired
  it becomes `error` (people hear once) and the scan keeps trying on a slow cadence; a later
  success marks it recovered.
- cooldown: an auth whose last attempt failed less than REFRESH_FAILURE_COOLDOWN_SECONDS ago is
  not attempted again by a fresh caller (only the task's own scheduled retries go through), so one
  failing auth cannot cause a refresh storm.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone

from auths.models import Authentication
from lifecycle import state
from lifecycle.refresh import (
    Hold,
    RefreshHeld,
    RefreshNotSupported,
    RefreshRejected,
    TransientRefreshError,
    authentication_refresh,
)
from lifecycle.scheduling import access_token_expiry, refresh_due_at_for


def backoff_seconds(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter, capped; never sooner than the provider's Retry-After.

    attempt 0 -> base/2..base, attempt 1 -> base..2*base, ...
    """
    ceiling = min(
        settings.REFRESH_RETRY_BASE_SECONDS * (2**attempt), settings.REFRESH_RETRY_MAX_SECONDS
    )
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after:
        delay = max(delay, float(retry_after))
    return delay


def in_cooldown(authentication, now: datetime) -> datetime | None:
    """The end of the cooldown after the last failed attempt, or None when not cooling down."""
    failed = authentication.last_refresh_failed_at
    cooldown = timedelta(seconds=settings.REFRESH_FAILURE_COOLDOWN_SECONDS)
    if failed and now < failed + cooldown:
        return failed + cooldown
    return None


@dataclass(frozen=True)
class Outcome:
    """What the task should do next: `retry_in` seconds, or nothing."""

    # refreshed (by this call or a concurrent one) | fresh | skipped | cooldown | retry |
    # exhausted | rejected
    result: str
    retry_in: float | None = None


def scheduled_gate(authentication, *, now: datetime, retries: int, force: bool) -> Hold | None:
    """On the row read under the refresh's lock: should this scheduled attempt call the provider?
    A Hold says why not, and when the auth is due instead."""
    due = refresh_due_at_for(authentication)
    if due is None:
        return Hold("skipped", None)  # cannot refresh, or waiting for a person
    if not force and retries == 0 and due > now:
        return Hold("fresh", due)  # refreshed by someone else since it was claimed
    cooldown_until = in_cooldown(authentication, now)
    if retries == 0 and cooldown_until:
        return Hold("cooldown", cooldown_until)
    return None


def refresh_attempt(
    *, authentication_id, retries: int = 0, now: datetime | None = None, force: bool = False
) -> Outcome:
    """One attempt by the refresh task. Idempotent: a redelivered or duplicated task finds the
    auth fresh (or its version moved on) and does nothing."""
    now = now or timezone.now()
    gate = partial(scheduled_gate, now=now, retries=retries, force=force)
    try:
        authentication_refresh(authentication_id=authentication_id, force=True, gate=gate)
    except Authentication.DoesNotExist:
        return Outcome("skipped")  # deleted since it was queued
    except RefreshHeld as held:
        return Outcome(held.hold.result)
    except TransientRefreshError as error:
        return transient_failure_scheduled(error=error, retries=retries, now=now)
    except RefreshRejected:
        return Outcome("rejected")  # needs_reauth, recorded by the refresh
    except RefreshNotSupported:
        return Outcome("skipped")
    return Outcome("refreshed")


def transient_failure_scheduled(
    *, error: TransientRefreshError, retries: int, now: datetime
) -> Outcome:
    """The refresh counted the failure and kept the credentials; decide what happens next."""
    authentication = error.authentication
    retry_after = error.retry_after
    if retries < settings.REFRESH_MAX_RETRIES:
        delay = backoff_seconds(attempt=retries, retry_after=retry_after)
        # Keep the scan away while the retry is pending; if the retry is lost, the scan takes over.
        state.retry_scheduled(
            authentication=authentication,
            failed_at=now,
            due_at=now + timedelta(seconds=delay + settings.REFRESH_CLAIM_LEASE_SECONDS),
        )
        return Outcome("retry", retry_in=delay)
    next_try = now + timedelta(
        seconds=max(settings.REFRESH_EXHAUSTED_COOLDOWN_SECONDS, retry_after or 0)
    )
    expires = access_token_expiry(authentication)
    if now < expires < next_try:
        # One more round when the token dies, so `error` is reached soon after it does.
        next_try = max(expires, now + timedelta(seconds=settings.REFRESH_FAILURE_COOLDOWN_SECONDS))
    state.retries_exhausted(
        authentication=authentication,
        message=error.description[:1000],
        next_try=next_try,
        now=now,
    )
    return Outcome("exhausted")
