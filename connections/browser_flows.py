"""The browser flows, whatever their protocol: start (a new connection or a re-authentication),
restart from the platform's own start route, and the provider's redirect back.

Callback (one URL per service, /api/oauth/callback/<service uuid>/, the mix-up defence of RFC 9700
§4.4.2): the state is looked up by its hash and compared in constant time; missing, unknown,
expired, replayed, foreign (another person's) and wrong-service states are refused, as is an `iss`
that does not match the expected issuer (RFC 9207) — connections/transactions.py. The protocol's
own module then redeems what the provider sent: connections/authorization_code.py (OAuth 2.0) or
connections/oauth1.py (OAuth 1.0a).
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from auths.models import OAuthTransaction
from auths.parameters import parameters_validate
from connections.authorization_code import (
    authorization_code_finish,
    authorization_code_restart,
    authorization_code_start,
)
from connections.connection import Target, new_connection_target, require_manage
from connections.oauth1 import oauth1_authorize_url, oauth1_finish, oauth1_start
from connections.transactions import (
    AuthorizationStart,
    CallbackRefused,
    transaction_claim,
    transaction_fields,
    transaction_finish,
)
from infrastructure.errors import DomainError, RuleViolation
from services.models import AuthScheme, GrantType, Service
from workspaces.access import Actor, actor_for, require_asset_creation
from workspaces.models import Workspace

BROWSER_GRANTS = (GrantType.AUTHORIZATION_CODE, "")


def _require_person(actor: Actor) -> None:
    if actor.user is None:
        raise RuleViolation(
            "A browser sign-in flow needs a person: call this with a user session or a user API "
            "key, not an organization API key."
        )


def browser_flow_start(
    *,
    actor: Actor,
    target: Target,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    base_url: str,
) -> AuthorizationStart:
    """Start the flow of the target's service. `base_url` is this platform's origin, for the
    redirect URI."""
    _require_person(actor)
    service = target.service
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    redirect_uri = base_url.rstrip("/") + reverse(
        "oauth-callback", kwargs={"service_id": service.pk}
    )
    fields = transaction_fields(
        actor=actor, target=target, values=values, redirect_uri=redirect_uri
    )
    if service.auth_scheme == AuthScheme.OAUTH1:
        return oauth1_start(target=target, values=values, fields=fields)
    if service.auth_scheme != AuthScheme.OAUTH2 or service.grant_type not in BROWSER_GRANTS:
        raise RuleViolation(
            f"{service.name} does not use a browser sign-in (its scheme is "
            f"{service.get_auth_scheme_display()}); use the flow for its scheme.",
            field="service",
        )
    return authorization_code_start(
        target=target, values=values, scopes=target.scopes(scopes), fields=fields
    )


def oauth_authorization_start(
    *,
    actor: Actor,
    service: Service,
    workspace: Workspace | None = None,
    name: str = "",
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    base_url: str,
) -> AuthorizationStart:
    """Start connecting a new account through the browser (OAuth 2.0 code, or OAuth 1.0a)."""
    _require_person(actor)
    target = new_connection_target(actor=actor, service=service, workspace=workspace, name=name)
    return browser_flow_start(
        actor=actor, target=target, scopes=scopes, parameters=parameters, base_url=base_url
    )


def oauth_authorization_restart(*, user, transaction_id) -> str:
    """The browser route /oauth/start/<transaction>/: the authorize URL for an open transaction of
    this person."""
    with transaction.atomic():
        txn = (
            OAuthTransaction.objects.select_for_update(of=("self",))
            .select_related("service")
            .filter(pk=transaction_id, started_by=user)
            .first()
        )
        if txn is None:
            raise CallbackRefused("This sign-in link is not yours or does not exist.")
        if txn.used_at is not None or txn.expires_at <= timezone.now():
            raise CallbackRefused("This sign-in link was already used or has expired; start again.")
        if txn.service.auth_scheme == AuthScheme.OAUTH1:
            return oauth1_authorize_url(txn)
        return authorization_code_restart(txn)


def _callback_actor(txn: OAuthTransaction, user) -> Actor | None:
    """The person must still be allowed to do what they started."""
    try:
        actor = actor_for(organization=txn.organization, user=user)
        if txn.authentication_id:
            require_manage(actor=actor, authentication=txn.authentication, action="re-authenticate")
        else:
            require_asset_creation(actor=actor, workspace=txn.workspace)
    except DomainError:
        return None
    return actor


def _provider_error(service: Service, query: dict, *, is_oauth1: bool) -> str | None:
    if not (query.get("error") or (is_oauth1 and query.get("denied"))):
        return None
    code = query.get("error") or "access_denied"
    if code == "access_denied":
        return f"You declined access at {service.name}; nothing was saved."
    description = (query.get("error_description") or "")[:300]
    return f"{service.name} answered with an error ({code[:100]})" + (
        f": {description}" if description else "."
    )


def oauth_callback(*, user, service: Service, query: dict) -> OAuthTransaction:
    """Handle the provider's redirect back. Refusals raise CallbackRefused (nothing saved);
    otherwise the transaction is returned with result_authentication or result_error set."""
    is_oauth1 = service.auth_scheme == AuthScheme.OAUTH1
    state = query.get("oauth_token" if is_oauth1 else "state") or ""
    if not state:
        raise CallbackRefused(
            "The sign-in answer has no state, so it cannot be matched to a sign-in you started."
        )
    txn = transaction_claim(user=user, service=service, state=state, iss=query.get("iss"))
    error = _provider_error(service, query, is_oauth1=is_oauth1)
    if error:
        return transaction_finish(txn, error=error)
    actor = _callback_actor(txn, user)
    if actor is None:
        return transaction_finish(
            txn, error="You may no longer create this authentication; nothing saved."
        )
    if is_oauth1:
        return oauth1_finish(txn=txn, actor=actor, verifier=query.get("oauth_verifier") or "")
    return authorization_code_finish(txn=txn, actor=actor, code=query.get("code") or "")
