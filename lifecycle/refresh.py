"""Refreshing an authentication's access token: ONE critical section for every caller (the Celery
task through lifecycle/policy.py, and the HTTP client on 401).

Why a lock: rotating refresh tokens are single use. Two workers refreshing one authentication at
once is indistinguishable from token theft, and the provider may revoke the whole grant (RFC 9700
§4.14.2). So:

1. `SELECT ... FOR UPDATE` on the authentication row, blocking, inside `transaction.atomic()` (on
   SQLite the IMMEDIATE transaction mode makes this a real lock);
2. re-check the need under the lock: a caller that saw version N but the row is past N -> someone
   else refreshed, return the fresh row; the caller's gate (the scheduled task's policy) may hold
   the attempt; not due and not forced -> return the row as is;
3. call the token URL through infrastructure.egress (never requests-oauthlib's auto_refresh_url);
4. persist the new access token and a rotated refresh token in the same transaction, in one UPDATE
   fenced on the version read under the lock (lifecycle/state.py), keeping the old refresh token
   when none comes back.

Outcomes for callers:
- returns the Authentication (refreshed, or unchanged when no refresh was needed);
- raises RefreshHeld (the gate decided not to call the provider; the due time was rescheduled);
- raises RefreshRejected (the provider refused the grant; the auth is now `needs_reauth`);
- raises TransientRefreshError(retry_after=...) (5xx/429/timeout/malformed answer; the working
  credentials are untouched, the failure is counted);
- raises RefreshNotSupported (nothing to refresh: token or OAuth1 auth, disabled auth, or an OAuth2
  auth without a refresh token).
"""

import copy
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from auths.grants import GrantMoved, require_granted
from auths.models import Authentication, AuthStatus
from auths.parameters import ParameterValues
from auths.tokens import (
    RefreshRejected,
    TokenCallTimedOut,
    TokenResponse,
    TransientTokenError,
    client_credentials_of,
    service_url,
    token_request,
    token_response_apply,
)
from infrastructure import egress
from infrastructure.errors import DomainError
from lifecycle import early_expiry, state
from lifecycle.scheduling import can_refresh, refresh_is_due
from services.models import AuthScheme, GrantType, Service
from workspaces.models import Organization

logger = logging.getLogger(__name__)

__all__ = [
    "Hold",
    "RefreshHeld",
    "RefreshNotSupported",
    "RefreshContext",
    "RefreshRejected",
    "TransientRefreshError",
    "authentication_refresh",
]

# The credential columns a refresh writes (the lifecycle columns are lifecycle/state.py's).
CREDENTIAL_FIELDS = (
    "access_token",
    "refresh_token",
    "token_type",
    "access_token_expires_at",
    "refresh_token_issued_at",
    "scopes",
    "parameters",
    "last_refreshed_at",
)


# Credentials of other schemes: a refresh never reads them, so the lock query does not either.
UNREAD_FIELDS = ("token_secret", "api_key", "password")


class RefreshContext:
    """The services and organizations a run of refreshes reads once instead of once per auth
    (the lock query no longer joins them). One per thread: a refresh may update its service in
    memory (an early-expiry flag cleared), so threads never share instances."""

    def __init__(self, *, services: dict | None = None, organizations: dict | None = None):
        self._services = {pk: copy.copy(service) for pk, service in (services or {}).items()}
        self._organizations = {
            pk: copy.copy(organization) for pk, organization in (organizations or {}).items()
        }

    def attach(self, auth: Authentication) -> None:
        service = self._services.get(auth.service_id)
        if service is None:
            service = self._services[auth.service_id] = Service.objects.get(pk=auth.service_id)
        organization = self._organizations.get(auth.organization_id)
        if organization is None:
            organization = Organization.objects.get(pk=auth.organization_id)
            self._organizations[auth.organization_id] = organization
        auth.service = service
        auth.organization = organization


class TransientRefreshError(Exception):
    """The refresh failed for a reason that may pass (5xx, 429, timeout, malformed answer). Retry
    after `retry_after` seconds when given (the provider's Retry-After), else with backoff."""

    def __init__(self, description: str, *, authentication, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.authentication = authentication
        self.retry_after = retry_after


class RefreshNotSupported(Exception):
    """There is nothing to refresh for this authentication; do not retry."""


@dataclass(frozen=True)
class Hold:
    """A gate's decision not to call the provider now: `result` says why, and refresh_due_at
    becomes `due_at` — unless `keep_due`, when the row keeps the due time (or claim) it has."""

    result: str
    due_at: datetime | None = None
    keep_due: bool = False


class RefreshHeld(Exception):
    def __init__(self, hold: Hold):
        super().__init__(hold.result)
        self.hold = hold


@sensitive_variables()
def _grant(auth: Authentication) -> tuple[str, dict, tuple[str, ...]]:
    """(url attribute, request data, secrets to scrub) for this auth's refresh."""
    service = auth.service
    if not can_refresh(auth):
        raise RefreshNotSupported(
            "The provider gave no refresh token: re-authenticate when the access token expires."
            if service.auth_scheme == AuthScheme.OAUTH2
            else f"{service.get_auth_scheme_display()} credentials do not refresh."
        )
    if service.grant_type == GrantType.CLIENT_CREDENTIALS:
        data = {"grant_type": "client_credentials", **(service.token_params or {})}
        if auth.scopes:
            data["scope"] = (service.scope_separator or " ").join(auth.scopes)
        return "token_url", data, ()
    refresh_token = auth.refresh_token.reveal()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        **(service.refresh_params or {}),
    }
    return ("refresh_url" if service.refresh_url else "token_url"), data, (refresh_token,)


@sensitive_variables()
def _call_token_endpoint(auth: Authentication) -> TokenResponse:
    attribute, data, scrub = _grant(auth)
    values = ParameterValues.of(auth)
    url = service_url(service=auth.service, values=values, attribute=attribute)
    client_id, _ = client_credentials_of(service=auth.service, values=values)
    # The refresh token and the client secret go only where, and to whom, they were granted.
    require_granted(authentication=auth, field=attribute, url=url, client_id=client_id or "")
    return token_request(
        service=auth.service,
        policy=egress.EgressPolicy.for_organization(auth.organization),
        url=url,
        data=data,
        values=values,
        scrub=scrub,
    )


def _persist(auth: Authentication, token_response: TokenResponse, read_version: int) -> None:
    now = timezone.now()
    rotated = token_response_apply(authentication=auth, token_response=token_response, now=now)
    auth.last_refreshed_at = now
    state.refresh_succeeded(
        authentication=auth,
        read_version=read_version,
        credentials={name: getattr(auth, name) for name in CREDENTIAL_FIELDS},
        token_response=token_response,
        rotated=rotated,
        now=now,
    )


_LOCK_SQL: dict[str, str] = {}


def _locked_row(authentication_id) -> Authentication:
    """`SELECT … FOR UPDATE OF` the auth's row, no joins. The statement is compiled by the ORM
    once per process and connection, then run as raw SQL: compiling it for every refresh cost
    about as much CPU as building the row. Inside transaction.atomic() only."""
    sql = _LOCK_SQL.get(connection.alias)
    if sql is None:
        query = (
            Authentication.objects.select_for_update(of=("self",))
            .defer(*UNREAD_FIELDS)
            .filter(pk=uuid.UUID(int=0))
            .query
        )
        sql = _LOCK_SQL[connection.alias] = query.sql_with_params()[0]
    pk_field = Authentication._meta.pk
    pk = pk_field.get_db_prep_value(pk_field.to_python(authentication_id), connection)
    rows = list(Authentication.objects.raw(sql, [pk]))
    if not rows:
        raise Authentication.DoesNotExist(f"Authentication {authentication_id} does not exist.")
    return rows[0]


def authentication_refresh(
    *,
    authentication_id,
    force: bool = False,
    seen_version: int | None = None,
    gate: Callable[[Authentication], Hold | None] | None = None,
    interrupted_before: bool = False,
    context: "RefreshContext | None" = None,
) -> Authentication:
    """Refresh the authentication's access token if it still needs it (see the module docstring).

    `force`: refresh even if the token is not near expiry (the API answered 401).
    `seen_version`: the version whose token the caller found wanting; if the row has moved past it,
    someone else refreshed meanwhile and the fresh row is returned without a token request.
    `gate(auth)`: the caller's decision on the row read under the lock; a Hold stops the attempt
    before the token request (and sets the due time it names).
    `interrupted_before`: an earlier attempt may have reached the provider without its answer
    reaching us (its worker died); a refusal is then explained by that.
    `context`: the services and organizations already read (a batch's); read here when missing.
    Raises Authentication.DoesNotExist when the auth is gone.
    """
    with transaction.atomic():
        # The row lock takes the auth's row alone (FOR UPDATE OF). A batch reads the row without
        # joins and takes its service and organization from the context (read once per batch,
        # lifecycle/batches.py); a lone refresh (the HTTP client on 401) reads them in the same
        # statement rather than in two more.
        if context is None:
            auth = (
                Authentication.objects.select_for_update(of=("self",))
                .defer(*UNREAD_FIELDS)
                .select_related("service", "organization")
                .get(pk=authentication_id)
            )
        else:
            auth = _locked_row(authentication_id)
            context.attach(auth)
        outcome = _attempt_under_lock(
            auth,
            force=force,
            seen_version=seen_version,
            gate=gate,
            interrupted_before=interrupted_before,
        )
    # Raised after the transaction committed: what the attempt recorded stays recorded.
    if isinstance(outcome, Hold):
        raise RefreshHeld(outcome)
    if isinstance(outcome, _Rejection):
        logger.warning("Authentication %s needs re-authentication: %s", auth.pk, outcome.error)
        if outcome.learn:
            _learn_from_rejection(auth)
        raise outcome.error
    if isinstance(outcome, Exception):
        raise outcome
    if outcome == "refreshed":
        logger.info("Refreshed authentication %s (now version %s).", auth.pk, auth.version)
        early_expiry.service_flag_clear_if_outlived(authentication=auth)
    return auth


@dataclass(frozen=True)
class _Rejection:
    error: RefreshRejected
    learn: bool  # whether the refusal says something about the grant's lifetime


def _attempt_under_lock(auth: Authentication, *, force, seen_version, gate, interrupted_before):
    """The attempt on the locked row: "refreshed", "unchanged", a Hold, a _Rejection, or the
    exception to raise once the transaction has committed."""
    if seen_version is not None and auth.version != seen_version:
        return "unchanged"  # someone else refreshed meanwhile
    hold = gate(auth) if gate is not None else None
    if interrupted_before and (hold is None or hold.result == "busy"):
        # Evidence that outlives this attempt: whatever happens next, a refusal of the refresh
        # token we hold is explained by the call that never came back.
        state.refresh_interruption_noted(authentication=auth, now=timezone.now())
    if hold is not None:
        if not hold.keep_due:
            state.refresh_rescheduled(authentication=auth, due_at=hold.due_at)
        return hold
    if not force and not refresh_is_due(auth, now=timezone.now()):
        return "unchanged"
    if auth.status == AuthStatus.DISABLED:
        return RefreshNotSupported("The authentication is disabled.")
    if auth.status == AuthStatus.NEEDS_REAUTH:
        # The grant is known dead; asking the provider again would only repeat the refusal.
        return RefreshRejected("needs_reauth", auth.status_reason)
    read_version = auth.version
    try:
        token_response = _call_token_endpoint(auth)
    except GrantMoved as error:
        state.grant_moved(authentication=auth, reason=error.message, now=timezone.now())
        return _Rejection(RefreshRejected("grant_moved", error.message), learn=False)
    except RefreshRejected as error:
        interrupted = interrupted_before or auth.refresh_interrupted_at is not None
        state.refresh_rejected(
            authentication=auth, error=error, interrupted=interrupted, now=timezone.now()
        )
        # Only a refusal on a clean attempt says something about the grant's lifetime.
        return _Rejection(error, learn=not interrupted)
    except (TransientTokenError, egress.EgressRefused, DomainError) as error:
        # DomainError: the service or auth is misconfigured (e.g. a placeholder without a value);
        # nothing was sent, and a fix to the definition makes the retry work.
        description = getattr(error, "description", None) or getattr(error, "message", None)
        description = description or str(error)
        retry_after = getattr(error, "retry_after", None)
        state.refresh_failed(
            authentication=auth,
            description=description,
            retry_after=retry_after,
            outcome_unknown=isinstance(error, TokenCallTimedOut),
            now=timezone.now(),
        )
        logger.warning("Refresh of authentication %s failed: %s", auth.pk, description)
        return TransientRefreshError(description, authentication=auth, retry_after=retry_after)
    _persist(auth, token_response, read_version)
    return "refreshed"


def _learn_from_rejection(auth: Authentication) -> None:
    """An early death flags the auth, a cluster of them its service. In a savepoint of its own:
    a failure here leaves the rejection recorded."""
    try:
        with transaction.atomic():
            early_expiry.rejection_analyse(authentication=auth)
    except DatabaseError:
        logger.exception("early-expiry analysis failed for %s", auth.pk)
