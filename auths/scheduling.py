"""When each OAuth authentication must be refreshed, and the claim that queues each one once.

- `refresh_due_at_for(authentication)`: the access token's expiry minus a lead; a token without
  expiry is scheduled on the service's default lifetime counted from its last refresh (never left
  to die); an idle-revocation rule pulls the date earlier so an unused auth is kept alive. Non-OAuth2
  auths, and auths waiting for a person (needs_reauth, disabled), have no due date.
- `authentication_schedule(authentication)`: (re)computes refresh_due_at and the predicted death of
  the refresh token. Call it after EVERY credential write (creation, callback, re-authorization,
  refresh) so no auth is left unscheduled.
- `due_authentications_claim(...)`: one statement that finds due rows through the partial index
  auth_refresh_due_idx and pushes their refresh_due_at forward by a lease, returning their ids.
  Concurrent schedulers never return the same row (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
  the UPDATE holds the database write lock). If the queued task is lost, the lease expires and the
  next scan claims the row again: the scan is the safety net.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from services.models import AuthScheme, GrantType

MIN_LEAD_SECONDS = 5 * 60
LEAD_FRACTION = 0.10
# Refresh an idle-revoked refresh token this long (at most) before the provider would revoke it.
IDLE_MARGIN_SECONDS = 24 * 3600
WAITING_FOR_A_PERSON = (AuthStatus.NEEDS_REAUTH, AuthStatus.DISABLED)


def refresh_lead(service, lifetime: float | None) -> float:
    """Seconds before expiry at which to refresh: the service's own lead, else max(5 minutes, 10% of
    the token's lifetime). Never more than half the lifetime, so a short-lived token is not
    refreshed again the moment it is issued (providers such as Exact Online refuse that)."""
    lead = service.refresh_lead_seconds or max(MIN_LEAD_SECONDS, LEAD_FRACTION * (lifetime or 0))
    if lifetime:
        lead = min(lead, lifetime / 2)
    return float(lead)


def last_credential_write(authentication) -> datetime:
    return (
        authentication.last_refreshed_at
        or authentication.refresh_token_issued_at
        or authentication.consented_at
        or authentication.created_at
        or timezone.now()
    )


def is_refreshable(authentication) -> bool:
    return authentication.service.auth_scheme == AuthScheme.OAUTH2


def access_token_expiry(authentication) -> datetime:
    """The access token's expiry; without one, the service's default lifetime from the last write."""
    if authentication.access_token_expires_at:
        return authentication.access_token_expires_at
    return last_credential_write(authentication) + timedelta(
        seconds=authentication.service.default_token_lifetime or 3600
    )


def refresh_due_at_for(authentication) -> datetime | None:
    if not is_refreshable(authentication) or authentication.status in WAITING_FOR_A_PERSON:
        return None
    service = authentication.service
    if service.grant_type != GrantType.CLIENT_CREDENTIALS and authentication.refresh_token is None:
        return None  # nothing to refresh with; the prediction says when it dies
    issued = last_credential_write(authentication)
    expires = access_token_expiry(authentication)
    lifetime = max((expires - issued).total_seconds(), 1.0)
    due = expires - timedelta(seconds=refresh_lead(service, lifetime))
    if service.refresh_token_idle_timeout:
        idle = float(service.refresh_token_idle_timeout)
        margin = min(IDLE_MARGIN_SECONDS, idle / 10)
        last_activity = max(issued, authentication.last_used_at or issued)
        due = min(due, last_activity + timedelta(seconds=idle - margin))
    return due


def schedule_values(authentication) -> dict:
    """The scheduling and prediction columns for the auth as it is in memory: refresh_due_at and
    the refresh token's predicted death (date and reason)."""
    from auths.expiry import refresh_token_death_predict

    death = refresh_token_death_predict(authentication)
    return {
        "refresh_due_at": refresh_due_at_for(authentication),
        "refresh_token_expires_at": death.expires_at if death else None,
        "refresh_token_expiry_reason": death.reason if death else "",
    }


def authentication_schedule(
    authentication: Authentication, *, also: dict | None = None
) -> Authentication:
    """Recompute refresh_due_at and the refresh-token prediction after a credential write.

    Writes only the scheduling and prediction columns (a queryset UPDATE; `also` adds other
    lifecycle columns to the same statement), so it never overwrites credentials written
    concurrently. Safe inside or outside a transaction.
    """
    for name, value in (also or {}).items():
        setattr(authentication, name, value)
    values = schedule_values(authentication)
    if also or any(getattr(authentication, name) != value for name, value in values.items()):
        Authentication.objects.filter(pk=authentication.pk).update(**values, **(also or {}))
        for name, value in values.items():
            setattr(authentication, name, value)
    return authentication


def authentication_reschedule(*, authentication_id, due_at: datetime | None) -> None:
    """Set the next due time directly (a retry or a cooldown)."""
    Authentication.objects.filter(pk=authentication_id).update(refresh_due_at=due_at)


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
    """Claim up to `limit` due auths in one statement and return their ids (most overdue first)."""
    lease_until = now + timedelta(seconds=lease_seconds)
    ops = connection.ops
    params = [ops.adapt_datetimefield_value(lease_until), ops.adapt_datetimefield_value(now), limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(claim_sql(), params)
        rows = cursor.fetchall()
    return [row[0] if isinstance(row[0], UUID) else UUID(str(row[0])) for row in rows]
