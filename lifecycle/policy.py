"""Decisions around one scheduled refresh (the Celery task's attempt): is it still this task's to
make, may the provider be called now, how long to back off, when transient failures become
`error`.

The critical section itself (row lock, token call, persisting rotated tokens) is
lifecycle/refresh.py; this module never writes credentials, so a failed attempt cannot overwrite
working ones.

- A claimed attempt carries the claim's lease (`claimed_until`, the refresh_due_at the scan wrote).
  Under the row lock the attempt goes ahead only if the row still holds that lease: a duplicated
  or late task, or one whose auth was refreshed meanwhile, finds another due time and does
  nothing. A task redelivered after its worker died finds the lease intact and tries again.
- Retries wait in the database, not in the broker: a transient failure sets refresh_due_at to the
  end of its backoff and the scan claims the auth again then. A provider that keeps failing holds
  no message in any queue, and its retries cannot crowd out other services' refreshes.
- At most REFRESH_SLOTS_PER_SERVICE refreshes of one service run at once (lifecycle/concurrency.py).
  An attempt that finds no slot keeps its claim and is queued again in about a second: a busy
  service is not a failing one, and its next refresh must not wait for the next scan.

Failure taxonomy:
- rejected (invalid_grant / unauthorized_client): the auth is needs_reauth; no retry.
- transient (timeouts, 5xx, 429, HTML, HTTP 200 with an error body, no access_token): retried with
  exponential backoff and jitter, never sooner than the provider's Retry-After. The auth stays
  usable while its access token lives; when retries are exhausted AND the access token has expired
  it becomes `error` (people hear once) and the scan keeps trying on a slow cadence; a later
  success marks it recovered.
- cooldown: an auth whose last attempt failed less than REFRESH_FAILURE_COOLDOWN_SECONDS ago is
  not attempted by an unclaimed caller (a task queued by hand), so one failing auth cannot cause a
  refresh storm.
- anything else (a bug, a database error): recorded on the auth as a failure and retried like a
  transient one. A task never ends without its outcome written.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection
from django.utils import timezone

from auths.models import Authentication
from lifecycle import state
from lifecycle.concurrency import service_slot_take
from lifecycle.refresh import (
    Hold,
    RefreshContext,
    RefreshHeld,
    RefreshNotSupported,
    RefreshRejected,
    TransientRefreshError,
    authentication_refresh,
)
from lifecycle.scheduling import access_token_expiry, refresh_due_at_for

logger = logging.getLogger(__name__)

# An attempt that finds every slot of its service taken is queued again after this long (plus
# jitter, so a burst spreads out).
BUSY_RETRY_SECONDS = 0.5
# A retry while the access token lives comes this long before it expires, at the latest.
EXPIRY_MARGIN_SECONDS = 5.0


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
    # refreshed | handled (by another attempt) | fresh | cooldown | busy | skipped | retry |
    # exhausted | rejected
    result: str
    # busy: queue the same attempt again (with its claim) after this many seconds.
    again_in: float | None = None


def scheduled_gate(
    authentication,
    *,
    now: datetime,
    claimed_until: datetime | None,
    force: bool,
    interrupted: bool = False,
) -> Hold | None:
    """On the row read under the refresh's lock: should this attempt call the provider? A Hold
    says why not, and when the auth is due instead. An attempt redelivered after its worker died
    (`interrupted`) does not wait for a slot: the provider may be rotating the token it sent, and
    only a retry inside the provider's reuse grace period gets the new pair."""
    due = refresh_due_at_for(authentication)
    if due is None:
        return Hold("skipped", None)  # cannot refresh, or waiting for a person
    if claimed_until is not None:
        if authentication.refresh_due_at != claimed_until:
            # Another attempt refreshed or rescheduled it since this one was claimed.
            return Hold("handled", keep_due=True)
    elif not force:
        if due > now:
            return Hold("fresh", due)
        cooldown_until = in_cooldown(authentication, now)
        if cooldown_until:
            return Hold("cooldown", cooldown_until)
    if interrupted:
        return None
    if not service_slot_take(authentication.service_id):
        # The claim stays: if the queued attempt is lost, the lease runs out and a scan claims
        # the auth again.
        return Hold("busy", keep_due=claimed_until is not None, due_at=now)
    return None


def refresh_attempt(
    *,
    authentication_id,
    claimed_until: datetime | None = None,
    redelivered: bool = False,
    force: bool = False,
    now: datetime | None = None,
    context: RefreshContext | None = None,
) -> Outcome:
    """One attempt by the refresh task (see the module docstring). `redelivered`: the broker
    handed this task out before, to a worker that died: its token call may have reached the
    provider, so a refusal now is explained by that, not by an early death."""
    now = now or timezone.now()
    gate = partial(
        scheduled_gate, now=now, claimed_until=claimed_until, force=force, interrupted=redelivered
    )
    try:
        authentication_refresh(
            authentication_id=authentication_id,
            force=True,
            gate=gate,
            interrupted_before=redelivered,
            context=context,
        )
    except Authentication.DoesNotExist:
        return Outcome("skipped")  # deleted since it was queued
    except RefreshHeld as held:
        if held.hold.result == "busy" and claimed_until is not None:
            return Outcome("busy", again_in=BUSY_RETRY_SECONDS * (1 + random.random()))
        return Outcome(held.hold.result)
    except TransientRefreshError as error:
        return transient_failure_scheduled(error=error, now=now)
    except RefreshRejected:
        return Outcome("rejected")  # needs_reauth, recorded by the refresh
    except RefreshNotSupported:
        return Outcome("skipped")
    except Exception as error:  # noqa: BLE001 - the task's last line: record, log, retry
        # A bug or a database failure must not end the task silently with the auth claimed:
        # record it on the auth (traceback in the log) and retry like a transient failure.
        logger.exception("refresh of authentication %s failed unexpectedly", authentication_id)
        return unexpected_failure_recorded(
            authentication_id=authentication_id, error=error, now=now
        )
    return Outcome("refreshed")


def transient_failure_scheduled(*, error: TransientRefreshError, now: datetime) -> Outcome:
    """The refresh counted the failure and kept the credentials: schedule the retry in the
    database (the scan claims it when due), or the slow cadence once retries are used up."""
    authentication = error.authentication
    retry_after = error.retry_after
    failures = authentication.refresh_failures
    if failures <= settings.REFRESH_MAX_RETRIES:
        delay = backoff_seconds(attempt=failures - 1)
        left = (access_token_expiry(authentication) - now).total_seconds()
        if left > 0:
            # While the access token lives, try again before it dies: a short burst of failures
            # must not let a working auth expire for want of one more attempt.
            delay = min(delay, max(left - EXPIRY_MARGIN_SECONDS, 1.0))
        delay = max(delay, float(retry_after or 0))
        state.retry_scheduled(
            authentication=authentication,
            failed_at=now,
            due_at=now + timedelta(seconds=delay),
        )
        return Outcome("retry")
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


def unexpected_failure_recorded(*, authentication_id, error: Exception, now: datetime) -> Outcome:
    # A connection that failed (the database restarted, a network cut) is replaced before the
    # failure is written: Django does not reconnect a connection that errored by itself, and the
    # worker skips the idle health check (config/celery_app.py), so this is where it is caught.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    authentication = (
        Authentication.objects.select_related("service", "organization")
        .filter(pk=authentication_id)
        .first()
    )
    if authentication is None:
        return Outcome("skipped")
    description = f"The refresh failed inside the platform ({type(error).__name__}); will retry."
    state.refresh_failed(
        authentication=authentication, description=description, retry_after=None, now=now
    )
    return transient_failure_scheduled(
        error=TransientRefreshError(description, authentication=authentication), now=now
    )
