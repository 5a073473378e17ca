"""Decisions around one refresh attempt made by the Celery task: is it still needed, is the auth in
cooldown, how long to back off, when transient failures become `error`.

The critical section itself (row lock, re-check, token call, persisting rotated tokens) is
auths.refresh.authentication_refresh; this module never writes credentials, so a failed attempt
cannot overwrite working ones.

Failure taxonomy:
- rejected (invalid_grant / unauthorized_client, after the refresh re-read the row): refresh.py
  marks needs_reauth and lifecycle_hooks.after_rejection records it; no retry.
- transient (timeouts, 5xx, 429, HTML, HTTP 200 with an error body, no access_token):
  TransientRefreshError; retried with exponential backoff and jitter, never sooner than the
  provider's Retry-After. The auth stays usable while its access token lives; when retries are
  exhausted AND the access token has expired it becomes `error` (people hear once) and the scan
  keeps trying on a slow cadence; a later success marks it recovered.
- cooldown: an auth whose last attempt failed less than REFRESH_FAILURE_COOLDOWN_SECONDS ago is
  not attempted again by a fresh caller (only the task's own scheduled retries go through), so one
  failing auth cannot cause a refresh storm.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auths.models import Authentication, AuthStatus, EventKind
from auths.scheduling import (
    WAITING_FOR_A_PERSON,
    access_token_expiry,
    authentication_reschedule,
    authentication_schedule,
    is_refreshable,
    refresh_due_at_for,
)

logger = logging.getLogger(__name__)


def knob(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def retry_base_seconds() -> float:
    return knob("REFRESH_RETRY_BASE_SECONDS", 15)


def retry_max_seconds() -> float:
    return knob("REFRESH_RETRY_MAX_SECONDS", 600)


def max_retries() -> int:
    return int(knob("REFRESH_MAX_RETRIES", 5))


def cooldown_seconds() -> float:
    return knob("REFRESH_FAILURE_COOLDOWN_SECONDS", 30)


def exhausted_cooldown_seconds() -> float:
    return knob("REFRESH_EXHAUSTED_COOLDOWN_SECONDS", 900)


def claim_lease_seconds() -> int:
    return int(knob("REFRESH_CLAIM_LEASE_SECONDS", 300))


def backoff_seconds(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter, capped; never sooner than the provider's Retry-After.

    attempt 0 -> base/2..base, attempt 1 -> base..2*base, ...
    """
    ceiling = min(retry_base_seconds() * (2**attempt), retry_max_seconds())
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after:
        delay = max(delay, float(retry_after))
    return delay


@dataclass(frozen=True)
class Outcome:
    """What the task should do next: `retry_in` seconds, or nothing."""

    # refreshed (by this call or a concurrent one) | fresh | skipped | cooldown | retry |
    # exhausted | rejected
    result: str
    retry_in: float | None = None


def in_cooldown(authentication, now: datetime) -> datetime | None:
    failed = authentication.last_refresh_failed_at
    if failed and now < failed + timedelta(seconds=cooldown_seconds()):
        return failed + timedelta(seconds=cooldown_seconds())
    return None


def refresh_attempt(
    *, authentication_id, retries: int = 0, now: datetime | None = None, force: bool = False
) -> Outcome:
    """One attempt by the refresh task. Idempotent: a redelivered or duplicated task finds the
    auth fresh (or its version moved on) and does nothing."""
    from auths.refresh import (
        RefreshNotSupported,
        RefreshRejected,
        TransientRefreshError,
        authentication_refresh,
    )

    now = now or timezone.now()
    # The decisions below are taken on the row read under the refresh's own row lock (precheck),
    # not on a separate read before it: one query less per refresh, and never a stale view.
    decision: dict = {}

    def precheck(authentication) -> bool:
        decision["authentication"] = authentication
        if not is_refreshable(authentication) or authentication.status in WAITING_FOR_A_PERSON:
            authentication_schedule(authentication)
            decision["result"] = "skipped"
            return False
        due = refresh_due_at_for(authentication)
        if due is None:
            authentication_schedule(authentication)
            decision["result"] = "skipped"
            return False
        if not force and retries == 0 and due > now:
            # Refreshed by someone else since it was claimed: put back its real due time.
            authentication_reschedule(authentication_id=authentication.pk, due_at=due)
            decision["result"] = "fresh"
            return False
        cooldown_until = in_cooldown(authentication, now)
        if retries == 0 and cooldown_until:
            authentication_reschedule(authentication_id=authentication.pk, due_at=cooldown_until)
            decision["result"] = "cooldown"
            return False
        return True

    try:
        authentication_refresh(authentication_id=authentication_id, force=True, precheck=precheck)
    except Authentication.DoesNotExist:
        return Outcome("skipped")  # deleted since it was queued
    except TransientRefreshError as error:
        return transient_failure_record(
            authentication=decision["authentication"], error=error, retries=retries, now=now
        )
    except RefreshRejected:
        return Outcome("rejected")  # needs_reauth, recorded by refresh.py and the hooks
    except RefreshNotSupported:
        authentication_schedule(decision["authentication"])
        return Outcome("skipped")
    return Outcome(decision.get("result", "refreshed"))


def transient_failure_record(*, authentication, error, retries: int, now: datetime) -> Outcome:
    """refresh.py counted the failure and kept the credentials; decide what happens next."""
    from auths.events import event_record

    message = str(getattr(error, "description", None) or error)[:1000]
    retry_after = getattr(error, "retry_after", None)
    Authentication.objects.filter(pk=authentication.pk).update(last_refresh_failed_at=now)
    if retries < max_retries():
        delay = backoff_seconds(attempt=retries, retry_after=retry_after)
        # Keep the scan away while the retry is pending; if the retry is lost, the scan takes over.
        authentication_reschedule(
            authentication_id=authentication.pk,
            due_at=now + timedelta(seconds=delay + claim_lease_seconds()),
        )
        return Outcome("retry", retry_in=delay)
    next_try = now + timedelta(seconds=max(exhausted_cooldown_seconds(), retry_after or 0))
    expires = access_token_expiry(authentication)
    if now < expires < next_try:
        # One more round when the token dies, so `error` is reached soon after it does.
        next_try = max(expires, now + timedelta(seconds=cooldown_seconds()))
    authentication_reschedule(authentication_id=authentication.pk, due_at=next_try)
    if expires <= now:
        reason = (
            f"Refresh keeps failing ({message}) and the access token has expired; retrying "
            f"from {next_try:%H:%M} UTC."
        )
        with transaction.atomic():
            changed = Authentication.objects.filter(
                pk=authentication.pk, status__in=[AuthStatus.ACTIVE, AuthStatus.EXPIRING]
            ).update(status=AuthStatus.ERROR, status_reason=reason)
            if changed:
                authentication.status = AuthStatus.ERROR
                authentication.status_reason = reason
                event_record(authentication=authentication, kind=EventKind.ERROR, message=reason)
    return Outcome("exhausted")
