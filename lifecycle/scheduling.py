"""When an authentication can and should be refreshed: plain functions of the row, no writes
(lifecycle/state.py writes refresh_due_at from these answers).

- `can_refresh(authentication)`: it holds what a refresh needs — answered here, once, for the HTTP
  client, the refresh critical section and the scheduler alike;
- `refresh_due_at_for(authentication)`: the access token's expiry minus a lead; a token without
  expiry is scheduled on the service's default lifetime counted from its last write (never left to
  die); an idle-revocation rule pulls the date earlier so an unused auth is kept alive. Auths that
  cannot refresh, and auths waiting for a person (needs_reauth, disabled), have no due date;
- `refresh_is_due(authentication, now)`: whether that moment has come.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from auths.models import AuthStatus
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


def can_refresh(authentication) -> bool:
    """OAuth 2.0 with the client-credentials grant (a new token is simply requested), or with a
    refresh token to redeem."""
    service = authentication.service
    if service.auth_scheme != AuthScheme.OAUTH2:
        return False
    return (
        service.grant_type == GrantType.CLIENT_CREDENTIALS
        or authentication.refresh_token is not None
    )


def access_token_expiry(authentication) -> datetime:
    """The access token's expiry; without one, the service's default lifetime from the last write."""
    if authentication.access_token_expires_at:
        return authentication.access_token_expires_at
    return last_credential_write(authentication) + timedelta(
        seconds=authentication.service.default_token_lifetime or 3600
    )


def refresh_due_at_for(authentication) -> datetime | None:
    if authentication.status in WAITING_FOR_A_PERSON or not can_refresh(authentication):
        return None
    service = authentication.service
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


def refresh_is_due(authentication, *, now: datetime) -> bool:
    due = refresh_due_at_for(authentication)
    return due is not None and due <= now
