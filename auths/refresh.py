"""Refreshing an authentication's access token: ONE critical section for every caller (the Celery
task, the HTTP client's 401 path, the API).

Why a lock: rotating refresh tokens are single use. Two workers refreshing one authentication at
once is indistinguishable from token theft, and the provider may revoke the whole grant (RFC 9700
§4.14.2). So:

1. `SELECT ... FOR UPDATE` on the authentication row, blocking, inside `transaction.atomic()` (on
   SQLite the IMMEDIATE transaction mode makes this a real lock);
2. re-check the need under the lock: not due and not forced -> return as is; a caller that saw
   version N but the row is past N -> someone else refreshed, return the fresh row;
3. call the token URL through auths.egress (never requests-oauthlib's auto_refresh_url);
4. persist the new access token and a rotated refresh token in the same transaction (fenced on the
   version read under the lock), keep the old refresh token when none comes back, bump `version`.

Outcomes for callers (the Celery task retries only TransientRefreshError):
- returns the Authentication (refreshed, or unchanged when no refresh was needed);
- raises RefreshRejected (the provider refused the grant; the auth is now `needs_reauth`);
- raises TransientRefreshError(retry_after=...) (5xx/429/timeout/malformed answer; the working
  credentials are untouched, `refresh_failures` and `last_refresh_error` are recorded);
- raises RefreshNotSupported (nothing to refresh: token or OAuth1 auth, disabled auth, or an OAuth2
  auth without a refresh token that was not forced).
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from auths import egress, lifecycle_hooks
from auths.events import event_record
from auths.models import Authentication, AuthStatus, EventKind
from auths.parameters import ParameterValues
from auths.scheduling import last_credential_write, refresh_lead
from auths.tokens import (
    RefreshRejected,
    TokenResponse,
    TransientTokenError,
    service_url,
    token_request,
    token_response_apply,
)
from services.models import AuthScheme, GrantType
from workspaces.errors import DomainError

logger = logging.getLogger(__name__)

__all__ = [
    "RefreshNotSupported",
    "RefreshRejected",
    "TransientRefreshError",
    "authentication_refresh",
    "refresh_is_due",
    "refresh_lead_seconds",
]


class TransientRefreshError(Exception):
    """The refresh failed for a reason that may pass (5xx, 429, timeout, malformed answer). Retry
    after `retry_after` seconds when given (the provider's Retry-After), else with backoff."""

    def __init__(self, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after


class RefreshNotSupported(Exception):
    """There is nothing to refresh for this authentication; do not retry."""


def refresh_lead_seconds(authentication: Authentication) -> int:
    """How long before expiry a refresh is due (auths.scheduling.refresh_lead decides, so the
    scan and this re-check under the lock agree)."""
    expires_at = authentication.access_token_expires_at
    lifetime = None
    if expires_at:
        issued = last_credential_write(authentication)
        lifetime = max(0, (expires_at - issued).total_seconds())
    return int(refresh_lead(authentication.service, lifetime))


def refresh_is_due(authentication: Authentication, *, now=None) -> bool:
    if authentication.access_token_expires_at is None:
        return True
    now = now or timezone.now()
    lead = timedelta(seconds=refresh_lead_seconds(authentication))
    return authentication.access_token_expires_at - lead <= now


def _grant(auth: Authentication) -> tuple[str, dict, tuple[str, ...]]:
    """(url attribute, request data, secrets to scrub) for this auth's refresh."""
    service = auth.service
    if service.auth_scheme != AuthScheme.OAUTH2:
        raise RefreshNotSupported(
            f"{service.get_auth_scheme_display()} credentials do not refresh."
        )
    if service.grant_type == GrantType.CLIENT_CREDENTIALS:
        data = {"grant_type": "client_credentials", **(service.token_params or {})}
        if auth.scopes:
            data["scope"] = (service.scope_separator or " ").join(auth.scopes)
        return "token_url", data, ()
    if auth.refresh_token is None:
        raise RefreshNotSupported(
            "The provider gave no refresh token: re-authenticate when the access token expires."
        )
    refresh_token = auth.refresh_token.reveal()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        **(service.refresh_params or {}),
    }
    return ("refresh_url" if service.refresh_url else "token_url"), data, (refresh_token,)


def _call_token_endpoint(auth: Authentication) -> TokenResponse:
    attribute, data, scrub = _grant(auth)
    values = ParameterValues.of(auth)
    return token_request(
        service=auth.service,
        policy=egress.EgressPolicy.for_organization(auth.organization),
        url=service_url(service=auth.service, values=values, attribute=attribute),
        data=data,
        values=values,
        scrub=scrub,
    )


_CREDENTIAL_FIELDS = (
    "access_token",
    "refresh_token",
    "token_type",
    "access_token_expires_at",
    "refresh_token_issued_at",
    "refresh_token_expires_at",
    "refresh_token_expiry_reason",
    "scopes",
    "parameters",
    "last_refreshed_at",
    "refresh_failures",
    "last_refresh_error",
    "status",
    "status_reason",
)


def _persist_refresh(auth: Authentication, token_response: TokenResponse, read_version: int):
    now = timezone.now()
    rotated = token_response_apply(authentication=auth, token_response=token_response, now=now)
    recovered = auth.status == AuthStatus.ERROR
    if recovered:
        auth.status = AuthStatus.ACTIVE
        auth.status_reason = ""
    auth.last_refreshed_at = now
    auth.refresh_failures = 0
    auth.last_refresh_error = ""
    auth.version = read_version + 1
    auth.updated_at = now
    values = {name: getattr(auth, name) for name in _CREDENTIAL_FIELDS}
    # The next due time, the prediction, the declared lifetime and the cleared cooldown go in the
    # same statement (they used to be a second UPDATE after commit).
    values.update(lifecycle_hooks.refresh_columns(auth, token_response, now=now))
    # Fenced write: only if the row is still at the version read under the lock.
    updated = Authentication.objects.filter(pk=auth.pk, version=read_version).update(
        version=auth.version, updated_at=now, **values
    )
    if updated != 1:
        raise RuntimeError("authentication changed under its row lock; refusing to overwrite it")
    event_record(
        authentication=auth,
        kind=EventKind.REFRESHED,
        message="Access token refreshed"
        + (" (the provider rotated the refresh token)." if rotated else "."),
        data={
            "version": auth.version,
            "refresh_token_rotated": rotated,
            **token_response.summary(),
        },
    )
    if recovered:
        event_record(
            authentication=auth,
            kind=EventKind.RECOVERED,
            message="Refresh works again after earlier failures.",
        )


def _mark_needs_reauth(auth: Authentication, error: RefreshRejected) -> None:
    reason = f"{auth.service.name} refused to refresh the access token ({error.error})"
    if error.provider_description:
        reason += f": {error.provider_description}"
    reason += ". Re-authenticate to reconnect."
    auth.status = AuthStatus.NEEDS_REAUTH
    auth.status_reason = reason
    auth.last_refresh_error = error.description
    auth.updated_at = timezone.now()
    Authentication.objects.filter(pk=auth.pk).update(
        status=auth.status,
        status_reason=reason,
        last_refresh_error=auth.last_refresh_error,
        updated_at=auth.updated_at,
    )
    event_record(
        authentication=auth,
        kind=EventKind.NEEDS_REAUTH,
        message=reason,
        data={"error": error.error},
    )


def _record_transient(auth: Authentication, description: str, retry_after) -> None:
    auth.updated_at = timezone.now()
    Authentication.objects.filter(pk=auth.pk).update(
        refresh_failures=F("refresh_failures") + 1,
        last_refresh_error=description[:1000],
        updated_at=auth.updated_at,
    )
    auth.refresh_failures += 1
    auth.last_refresh_error = description[:1000]
    event_record(
        authentication=auth,
        kind=EventKind.REFRESH_FAILED,
        message=f"Refresh failed, will retry: {description}",
        data={"retry_after": retry_after, "failures": auth.refresh_failures},
    )


def authentication_refresh(
    *,
    authentication_id,
    force: bool = False,
    seen_version: int | None = None,
    precheck: Callable[[Authentication], bool] | None = None,
) -> Authentication:
    """Refresh the authentication's access token if it still needs it (see the module docstring).

    `force`: refresh even if the token is not near expiry (the API answered 401).
    `seen_version`: the version whose token the caller found wanting; if the row has moved past it,
    someone else refreshed meanwhile and the fresh row is returned without a token request.
    `precheck(auth)`: the caller's own decision on the row just read under the lock (it may write
    to the row, e.g. reschedule it, in this transaction); False returns the row as is, without a
    token request. It saves the scheduled task a separate read before the lock.
    Raises Authentication.DoesNotExist when the auth is gone.
    """
    outcome: tuple[str, object] | None = None
    with transaction.atomic():
        auth = (
            Authentication.objects.select_for_update(of=("self",))
            .select_related("service", "organization")
            .get(pk=authentication_id)
        )
        if seen_version is not None and auth.version != seen_version:
            return auth
        if precheck is not None and not precheck(auth):
            return auth
        if not force and not refresh_is_due(auth):
            return auth
        if auth.status == AuthStatus.DISABLED:
            raise RefreshNotSupported("The authentication is disabled.")
        if auth.status == AuthStatus.NEEDS_REAUTH:
            # The grant is known dead; asking the provider again would only repeat the refusal.
            raise RefreshRejected("needs_reauth", auth.status_reason)
        read_version = auth.version
        try:
            token_response = _call_token_endpoint(auth)
        except RefreshRejected as error:
            # Rule out a lost race before declaring the grant dead: had someone else refreshed
            # (impossible under the lock, kept as a guard), our refresh token was merely stale.
            current = Authentication.objects.filter(pk=auth.pk).values_list("version", flat=True)
            if current.first() != read_version:
                return Authentication.objects.select_related("service").get(pk=auth.pk)
            _mark_needs_reauth(auth, error)
            outcome = ("rejected", error)
        except (TransientTokenError, egress.EgressRefused, DomainError) as error:
            # DomainError: the service or auth is misconfigured (e.g. a placeholder without a
            # value); nothing was sent, and a fix to the definition makes the retry work.
            description = getattr(error, "description", None) or getattr(error, "message", None)
            description = description or str(error)
            retry_after = getattr(error, "retry_after", None)
            _record_transient(auth, description, retry_after)
            outcome = ("transient", TransientRefreshError(description, retry_after=retry_after))
        else:
            _persist_refresh(auth, token_response, read_version)
            outcome = ("refreshed", token_response)

    kind, detail = outcome
    if kind == "refreshed":
        logger.info("Refreshed authentication %s (now version %s).", auth.pk, auth.version)
        lifecycle_hooks.after_refresh(auth, detail)
        return auth
    if kind == "rejected":
        logger.warning("Authentication %s needs re-authentication: %s", auth.pk, detail.error)
        lifecycle_hooks.after_rejection(auth, detail)
        raise detail
    logger.warning("Refresh of authentication %s failed: %s", auth.pk, detail.description)
    raise detail
