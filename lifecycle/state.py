"""The one writer of an authentication's lifecycle state.

Columns written here and nowhere else (tests/test_structure.py reads the code for writes):

- `status`, `status_reason`: what people see (active, expiring, needs_reauth, error, disabled);
- `notified_status`: the episode already announced, so people hear once per episode;
- `refresh_due_at`: when the scan queues the next refresh (pushed forward as its claim lease);
- `refresh_failures`, `last_refresh_error`, `last_refresh_failed_at`: the failure episode;
- `refresh_interrupted_at`: a refresh whose answer never came back (cut at its deadline, or its
  worker died mid-call);
- `refresh_token_expires_at`, `refresh_token_expiry_reason`, `refresh_token_declared_expires_at`:
  the prediction of the auth's death;
- `flags`: why an auth died early.

A status changes only along TRANSITIONS, `(status now, what happened) -> (next status, events
recorded)`; tests/lifecycle/test_state.py reads the table as the specification. What happened with
no row for the current status changes nothing. Outside a row lock a status write is conditional on
the status read (UPDATE ... WHERE status = <read>), so a concurrent change is never overwritten;
a refresh holds the row lock and writes credentials and lifecycle in one UPDATE, fenced on the
version it read.

News is announced (email, webhooks) once per episode: an episode kind (expiring, needs_reauth,
error, refresh_failed) is announced only when it is not already the notified status; a recovery or
a re-authorization closes the episode.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from events.models import EventKind
from events.recording import event_record
from lifecycle import predictions, scheduling

EARLY_FLAG = "expired_early"

ACTIVE = AuthStatus.ACTIVE
EXPIRING = AuthStatus.EXPIRING
NEEDS_REAUTH = AuthStatus.NEEDS_REAUTH
ERROR = AuthStatus.ERROR
DISABLED = AuthStatus.DISABLED
LIVE = (ACTIVE, EXPIRING, ERROR)


class Happened(StrEnum):
    """What can happen to an authentication."""

    CONNECTED = "connected"  # a person created it
    REAUTHORIZED = "reauthorized"  # a person granted access again (it keeps its id)
    REFRESHED = "refreshed"  # the provider issued new tokens
    REFRESH_FAILED = "refresh_failed"  # a transient failure (5xx, 429, timeout, bad answer)
    RETRIES_EXHAUSTED = "retries_exhausted"  # transient failures outlived the access token
    REFRESH_REJECTED = "refresh_rejected"  # the provider refused the grant (invalid_grant)
    GRANT_MOVED = "grant_moved"  # its service now points where its credentials were not granted
    DEATH_NEAR = "death_near"  # the predicted death entered the warning window
    DEATH_RECEDED = "death_receded"  # ... and left it
    DISABLED = "disabled"  # a person paused it: no refresh, no API calls
    ENABLED = "enabled"  # ... and resumed it


@dataclass(frozen=True)
class Transition:
    to: str
    records: tuple[str, ...]


def _from_each(statuses, happened: Happened, transition: Transition) -> dict:
    return {(status, happened): transition for status in statuses}


TRANSITIONS: dict[tuple[str | None, Happened], Transition] = {
    (None, Happened.CONNECTED): Transition(ACTIVE, (EventKind.CREATED,)),
    **_from_each(
        AuthStatus.values, Happened.REAUTHORIZED, Transition(ACTIVE, (EventKind.REAUTHORIZED,))
    ),
    (ACTIVE, Happened.REFRESHED): Transition(ACTIVE, (EventKind.REFRESHED,)),
    (EXPIRING, Happened.REFRESHED): Transition(EXPIRING, (EventKind.REFRESHED,)),
    (ERROR, Happened.REFRESHED): Transition(ACTIVE, (EventKind.REFRESHED, EventKind.RECOVERED)),
    (ACTIVE, Happened.REFRESH_FAILED): Transition(ACTIVE, (EventKind.REFRESH_FAILED,)),
    (EXPIRING, Happened.REFRESH_FAILED): Transition(EXPIRING, (EventKind.REFRESH_FAILED,)),
    (ERROR, Happened.REFRESH_FAILED): Transition(ERROR, (EventKind.REFRESH_FAILED,)),
    (ACTIVE, Happened.RETRIES_EXHAUSTED): Transition(ERROR, (EventKind.ERROR,)),
    (EXPIRING, Happened.RETRIES_EXHAUSTED): Transition(ERROR, (EventKind.ERROR,)),
    **_from_each(
        LIVE, Happened.REFRESH_REJECTED, Transition(NEEDS_REAUTH, (EventKind.NEEDS_REAUTH,))
    ),
    **_from_each(LIVE, Happened.GRANT_MOVED, Transition(NEEDS_REAUTH, (EventKind.NEEDS_REAUTH,))),
    (ACTIVE, Happened.DEATH_NEAR): Transition(EXPIRING, (EventKind.EXPIRING,)),
    (EXPIRING, Happened.DEATH_RECEDED): Transition(ACTIVE, (EventKind.RECOVERED,)),
    **_from_each(
        (*LIVE, NEEDS_REAUTH), Happened.DISABLED, Transition(DISABLED, (EventKind.DISABLED,))
    ),
    (DISABLED, Happened.ENABLED): Transition(ACTIVE, (EventKind.ENABLED,)),
}

# The message of an event recorded as the second of a transition's records.
FOLLOW_UP_MESSAGES = {EventKind.RECOVERED: "Refresh works again after earlier failures."}

EPISODE_KINDS = {
    EventKind.EXPIRING,
    EventKind.NEEDS_REAUTH,
    EventKind.ERROR,
    EventKind.REFRESH_FAILED,
}
EPISODE_CLOSERS = {EventKind.RECOVERED, EventKind.REAUTHORIZED}


# --- recording -----------------------------------------------------------------------------------


def _announce_once(authentication: Authentication, kind: str) -> bool:
    """Open, close or repeat an episode; True when the event is news. The claim is a conditional
    UPDATE, so concurrent workers announce an episode once."""
    if kind in EPISODE_CLOSERS:
        Authentication.objects.filter(pk=authentication.pk).exclude(notified_status="").update(
            notified_status=""
        )
        authentication.notified_status = ""
        return True
    if kind in EPISODE_KINDS:
        claimed = (
            Authentication.objects.filter(pk=authentication.pk)
            .exclude(notified_status=kind)
            .update(notified_status=kind)
        )
        if claimed:
            authentication.notified_status = kind
        return bool(claimed)
    return True


def _record(authentication: Authentication, kind: str, message: str = "", data=None) -> None:
    announce = _announce_once(authentication, kind)
    event_record(
        authentication=authentication, kind=kind, message=message, data=data, announce=announce
    )


def _record_transition(authentication, transition: Transition, message: str, data=None) -> None:
    first, *follow_ups = transition.records
    _record(authentication, first, message, data)
    for kind in follow_ups:
        _record(authentication, kind, FOLLOW_UP_MESSAGES.get(kind, ""))


def _assign(authentication: Authentication, values: dict) -> None:
    for name, value in values.items():
        setattr(authentication, name, value)


def _transition(
    authentication: Authentication,
    happened: Happened,
    *,
    reason: str = "",
    message: str = "",
    data=None,
    also: dict | None = None,
    now: datetime,
) -> bool:
    """Apply `happened` outside a row lock: a conditional UPDATE on the status read. Returns True
    when the status changed (and the events were recorded)."""
    current = authentication.status
    transition = TRANSITIONS.get((current, happened))
    if transition is None:
        return False
    values = {"status": transition.to, "status_reason": reason, "updated_at": now, **(also or {})}
    with transaction.atomic():
        changed = Authentication.objects.filter(pk=authentication.pk, status=current).update(
            **values
        )
        if not changed:
            return False
        _assign(authentication, values)
        _record_transition(authentication, transition, message or reason, data)
    return True


# --- scheduling and prediction -------------------------------------------------------------------


def _schedule_values(authentication: Authentication) -> dict:
    """refresh_due_at and the predicted death (date and reason) for the row as it is in memory."""
    death = predictions.refresh_token_death_predict(authentication)
    return {
        "refresh_due_at": scheduling.refresh_due_at_for(authentication),
        "refresh_token_expires_at": death.expires_at if death else None,
        "refresh_token_expiry_reason": death.reason if death else "",
    }


def schedule(*, authentication: Authentication) -> Authentication:
    """Recompute refresh_due_at and the prediction, writing them only when they changed (the
    service's umbrella status or the organization's window may have moved them).

    The due time never moves earlier than the one stored: that may be a retry's backoff, a
    cooldown or the scan's claim lease, and undoing it would send a failing auth back to its
    provider at once (or let the next scan claim an auth whose refresh is running). A credential
    write sets the due time itself (connection_recorded, refresh_succeeded)."""
    values = _schedule_values(authentication)
    stored = authentication.refresh_due_at
    if values["refresh_due_at"] is not None and stored is not None:
        values["refresh_due_at"] = max(values["refresh_due_at"], stored)
    if any(getattr(authentication, name) != value for name, value in values.items()):
        Authentication.objects.filter(pk=authentication.pk).update(**values)
        _assign(authentication, values)
    return authentication


def refresh_rescheduled(*, authentication: Authentication, due_at: datetime | None) -> None:
    """Set the next due time directly: refreshed by someone else meanwhile, or cooling down."""
    Authentication.objects.filter(pk=authentication.pk).update(refresh_due_at=due_at)
    authentication.refresh_due_at = due_at


def expiry_evaluate(*, authentication: Authentication, now: datetime | None = None) -> str:
    """Move an auth into or out of `expiring` from its prediction. Returns the resulting status."""
    now = now or timezone.now()
    death = predictions.refresh_token_death_predict(authentication, now=now)
    window = predictions.warning_window(authentication)
    if death and death.expires_at <= now + window:
        reason = f"Dies on {predictions.format_when(death.expires_at)}: {death.reason}."
        _transition(
            authentication,
            Happened.DEATH_NEAR,
            reason=reason,
            data={
                "expires_at": death.expires_at.isoformat(),
                "reason": death.reason,
                "rule": death.code,
            },
            now=now,
        )
    elif death is None or death.expires_at > now + window:
        _transition(
            authentication,
            Happened.DEATH_RECEDED,
            message="No longer expiring: its predicted death is outside the warning window.",
            now=now,
        )
    return authentication.status


# --- a person connects ---------------------------------------------------------------------------


def connection_recorded(
    *, authentication: Authentication, token_response, reauthorized: bool, message: str
) -> None:
    """A person (re-)authorized; connections.connection_save just saved the credentials in this
    transaction. The auth becomes active, its failure episode and early-death flag are cleared, the
    first refresh is scheduled and its death predicted (an auth on a test-status service shows its
    date and reason from the start)."""
    now = timezone.now()
    auth = authentication
    if reauthorized:
        transition = TRANSITIONS[(auth.status, Happened.REAUTHORIZED)]
    else:
        transition = TRANSITIONS[(None, Happened.CONNECTED)]
    values = {
        "status": transition.to,
        "status_reason": "",
        "refresh_failures": 0,
        "last_refresh_error": "",
        "last_refresh_failed_at": None,
        "refresh_interrupted_at": None,
        "flags": [f for f in (auth.flags or []) if f.get("code") != EARLY_FLAG],
    }
    if token_response is not None:
        values.update(
            predictions.declared_expiry(authentication=auth, token_response=token_response, now=now)
        )
    _assign(auth, values)
    values.update(_schedule_values(auth))  # after the declared lifetime: it feeds the death
    Authentication.objects.filter(pk=auth.pk).update(**values)
    _assign(auth, values)
    _record_transition(
        auth, transition, message, data=token_response.summary() if token_response else {}
    )
    expiry_evaluate(authentication=auth, now=now)


# --- refresh outcomes (lifecycle/refresh.py, under the auth's row lock) --------------------------


def refresh_succeeded(
    *,
    authentication: Authentication,
    read_version: int,
    credentials: dict,
    token_response,
    rotated: bool,
    now: datetime,
) -> None:
    """Write the new credentials and the lifecycle columns in ONE UPDATE, fenced on the version
    read under the lock; record the refresh and, when an episode of failures ends, the recovery."""
    auth = authentication
    transition = TRANSITIONS[(auth.status, Happened.REFRESHED)]
    failure_episode_open = auth.notified_status == EventKind.REFRESH_FAILED
    values = {
        **credentials,
        "refresh_failures": 0,
        "last_refresh_error": "",
        "last_refresh_failed_at": None,
        "refresh_interrupted_at": None,
        **predictions.declared_expiry(authentication=auth, token_response=token_response, now=now),
    }
    if transition.to != auth.status:
        values.update(status=transition.to, status_reason="")
    _assign(auth, values)
    values.update(_schedule_values(auth))
    updated = Authentication.objects.filter(pk=auth.pk, version=read_version).update(
        version=read_version + 1, updated_at=now, **values
    )
    if updated != 1:
        raise RuntimeError("authentication changed under its row lock; refusing to overwrite it")
    _assign(auth, {**values, "version": read_version + 1, "updated_at": now})
    message = "Access token refreshed" + (
        " (the provider rotated the refresh token)." if rotated else "."
    )
    data = {"version": auth.version, "refresh_token_rotated": rotated, **token_response.summary()}
    _record_transition(auth, transition, message, data)
    if failure_episode_open and EventKind.RECOVERED not in transition.records:
        _record(auth, EventKind.RECOVERED, "Refresh works again after transient failures.")
    expiry_evaluate(authentication=auth, now=now)


def refresh_failed(
    *,
    authentication: Authentication,
    description: str,
    retry_after,
    now: datetime,
    outcome_unknown: bool = False,
) -> None:
    """A transient failure: the working credentials stay; count it, tell people once.
    `outcome_unknown`: the call was cut before its answer (the provider may have processed it)."""
    description = description[:1000]
    values = {"last_refresh_error": description, "updated_at": now}
    if outcome_unknown:
        values["refresh_interrupted_at"] = now
    Authentication.objects.filter(pk=authentication.pk).update(
        refresh_failures=F("refresh_failures") + 1, **values
    )
    _assign(authentication, values)
    authentication.refresh_failures += 1
    transition = TRANSITIONS[(authentication.status, Happened.REFRESH_FAILED)]
    _record_transition(
        authentication,
        transition,
        f"Refresh failed, will retry: {description}",
        data={"retry_after": retry_after, "failures": authentication.refresh_failures},
    )


def refresh_interruption_noted(*, authentication: Authentication, now: datetime) -> None:
    """An earlier refresh's answer never came back (its worker died mid-call)."""
    if authentication.refresh_interrupted_at is None:
        Authentication.objects.filter(pk=authentication.pk).update(refresh_interrupted_at=now)
        authentication.refresh_interrupted_at = now


def refresh_rejected(
    *, authentication: Authentication, error, now: datetime, interrupted: bool = False
) -> None:
    """The provider refused the grant: needs_reauth, and nothing more is scheduled. `interrupted`:
    an earlier refresh's answer never reached us, which explains the refusal."""
    auth = authentication
    transition = TRANSITIONS[(auth.status, Happened.REFRESH_REJECTED)]
    if interrupted:
        reason = (
            f"{auth.service.name} refused the refresh token ({error.error}): a refresh was "
            "interrupted and the provider had already rotated the token, so the new one never "
            "reached the platform. Re-authenticate to reconnect."
        )
    else:
        reason = f"{auth.service.name} refused to refresh the access token ({error.error})"
        if error.provider_description:
            # Providers end their descriptions with or without a full stop; write exactly one.
            reason += f": {error.provider_description.rstrip().rstrip('.')}"
        reason += ". Re-authenticate to reconnect."
    values = {
        "status": transition.to,
        "status_reason": reason,
        "last_refresh_error": error.description,
        "refresh_due_at": None,
        "updated_at": now,
    }
    Authentication.objects.filter(pk=auth.pk).update(**values)
    _assign(auth, values)
    _record_transition(
        auth, transition, reason, data={"error": error.error, "interrupted": interrupted}
    )


def grant_moved(*, authentication: Authentication, reason: str, now: datetime) -> bool:
    """The service was edited to send this auth's credentials where they were not granted
    (auths/grants.py): nothing is sent, and its owner must re-authenticate to trust the new
    address. Announced once; True when the status changed."""
    return _transition(
        authentication,
        Happened.GRANT_MOVED,
        reason=reason,
        data={"error": "grant_moved"},
        also={"refresh_due_at": None, "last_refresh_error": reason[:1000]},
        now=now,
    )


# --- retries of the scheduled refresh (lifecycle/policy.py) --------------------------------------


def retry_scheduled(
    *, authentication: Authentication, failed_at: datetime, due_at: datetime
) -> bool:
    """A transient failure will be retried: keep the scan away until `due_at` (the retry's time
    plus a lease; if the retry is lost, the scan takes over).

    Written after the failed attempt's transaction, outside its row lock, so it is fenced on the
    version that attempt read: another attempt (a claimed batch waiting on the lock) may have
    refreshed the auth since, and its due time must not be pulled back to the retry's (the scan
    would then refresh a fresh token again)."""
    scheduled = Authentication.objects.filter(
        pk=authentication.pk, version=authentication.version
    ).update(last_refresh_failed_at=failed_at, refresh_due_at=due_at)
    if scheduled:
        _assign(authentication, {"last_refresh_failed_at": failed_at, "refresh_due_at": due_at})
    return bool(scheduled)


def retries_exhausted(
    *, authentication: Authentication, message: str, next_try: datetime, now: datetime
) -> None:
    """Retries are used up: try again at `next_try`; once the access token has expired the auth
    becomes `error` (people hear once)."""
    if not retry_scheduled(authentication=authentication, failed_at=now, due_at=next_try):
        return  # refreshed meanwhile by another attempt: nothing is failing any more
    if scheduling.access_token_expiry(authentication) > now:
        return
    reason = (
        f"Refresh keeps failing ({message}) and the access token has expired; retrying "
        f"from {next_try:%H:%M} UTC."
    )
    _transition(authentication, Happened.RETRIES_EXHAUSTED, reason=reason, now=now)


# --- early expiry (lifecycle/early_expiry.py) ----------------------------------------------------


def early_death_flagged(
    *, authentication: Authentication, flag: dict, message: str, data: dict
) -> None:
    """The auth died long before its expected lifetime: keep the flag (one per auth) and log it."""
    flags = [f for f in (authentication.flags or []) if f.get("code") != EARLY_FLAG] + [flag]
    Authentication.objects.filter(pk=authentication.pk).update(flags=flags)
    authentication.flags = flags
    _record(authentication, EventKind.EXPIRED_EARLY, message, data)


# --- a person pauses or resumes an auth ----------------------------------------------------------


def disable(*, authentication: Authentication, message: str) -> bool:
    """Paused: no refresh, no API calls, until enabled again."""
    return _transition(
        authentication,
        Happened.DISABLED,
        reason="Disabled: no refresh and no API calls until it is enabled again.",
        message=message,
        also={"refresh_due_at": None},
        now=timezone.now(),
    )


def enable(*, authentication: Authentication, message: str) -> bool:
    now = timezone.now()
    if not _transition(authentication, Happened.ENABLED, message=message, now=now):
        return False
    schedule(authentication=authentication)
    expiry_evaluate(authentication=authentication, now=now)
    return True


# --- the scan's claim ----------------------------------------------------------------------------

_CLAIM_SQL = """
UPDATE {table} SET refresh_due_at = %s
WHERE id IN (
    SELECT id FROM {table}
    WHERE refresh_due_at IS NOT NULL AND refresh_due_at <= %s
    ORDER BY refresh_due_at
    LIMIT %s{lock}
)
RETURNING id
"""


def claim_sql() -> str:
    lock = "\n    FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return _CLAIM_SQL.format(table=Authentication._meta.db_table, lock=lock)


def due_authentications_claim(*, now: datetime, lease_seconds: int, limit: int) -> list[UUID]:
    """Claim up to `limit` due auths in one statement and return their ids (most overdue first).

    The statement finds due rows through the partial index auth_refresh_due_idx and pushes their
    refresh_due_at forward by a lease, so concurrent schedulers never return the same row
    (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the UPDATE holds the database write lock). If the
    queued task is lost, the lease expires and the next scan claims the row again.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    ops = connection.ops
    params = [ops.adapt_datetimefield_value(lease_until), ops.adapt_datetimefield_value(now), limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(claim_sql(), params)
        rows = cursor.fetchall()
    return [row[0] if isinstance(row[0], UUID) else UUID(str(row[0])) for row in rows]
