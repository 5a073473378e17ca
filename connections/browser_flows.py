"""The browser flows, whatever their protocol: start (a new connection or a re-authentication),
restart from the platform's own start route, and the provider's redirect back.

Callback (one URL per service, /api/oauth/callback/<service uuid>/, the mix-up defence of RFC 9700
§4.4.2): the state is looked up by its hash and compared in constant time; missing, unknown,
expired, replayed, foreign (another person's) and wrong-service states are refused, as is an `iss`
that does not match the expected issuer (RFC 9207) — connections/transactions.py. The protocol's
own module then redeems what the provider sent: connections/authorization_code.py (OAuth 2.0) or
connections/oauth1.py (OAuth 1.0a).

A flow started for an end user (a connect link, the wizard, the auth dialog) is answered with no
session at all: end users never sign in, so end_user_oauth_callback finds their transaction by the
state alone (single use, bound to the end user when it was started) and saves the auth as theirs,
in the embedded workspace. A member's flow still needs the person who started it.
"""

import uuid
from collections.abc import Callable
from typing import Any

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
    state_digest,
    transaction_claim,
    transaction_fields,
    transaction_finish,
)
from infrastructure.errors import DomainError, RuleViolation
from services.models import AuthScheme, GrantType, Service
from services.selectors import service_list_for_actor
from workspaces.access import Actor, actor_for, actor_for_end_user, require_asset_creation
from workspaces.models import Workspace

BROWSER_GRANTS = (GrantType.AUTHORIZATION_CODE, "")


def oauth_redirect_uri(*, base_url: str, service_id) -> str:
    """The redirect URI to register with the provider for a service: one per service (the mix-up
    defence above), predictable from the service's id alone, so a builder can register it before
    the service exists by reserving the id first (services/custom_services.py:
    custom_service_create(service_id=...)). `base_url` is this platform's origin."""
    return oauth_redirect_uris(base_url=base_url)(service_id)


def oauth_redirect_uris(*, base_url: str) -> Callable[[Any], str]:
    """oauth_redirect_uri for many services of one origin (a page of services): the URL is
    reversed once, not once per service."""
    placeholder = str(uuid.UUID(int=0))
    template = base_url.rstrip("/") + reverse("oauth-callback", kwargs={"service_id": placeholder})
    return lambda service_id: template.replace(placeholder, str(uuid.UUID(str(service_id))))


def member_return_path(return_url: str) -> str:
    """Where a member's browser goes after the callback: a path on this site only ("/…", never
    "//host" or a scheme), so a crafted start cannot turn the callback into an open redirect.
    Raises RuleViolation on `return_url` otherwise. End users' return URLs are checked against
    the organization's allowed origins instead (embedded/connect_links.py)."""
    if not return_url:
        return ""
    if (
        len(return_url) > 1000
        or not return_url.startswith("/")
        or return_url.startswith(("//", "/\\"))
        or any(ord(c) < 32 or c.isspace() for c in return_url)
    ):
        raise RuleViolation(
            "return_url: give a path on this site that starts with a single /, e.g. /connections/.",
            field="return_url",
        )
    return return_url


def flow_outcome(txn: OAuthTransaction) -> tuple[bool, str]:
    """What came of a member's finished flow, in words: (connected?, message)."""
    auth = txn.result_authentication
    if auth is not None:
        verb = "re-authenticated" if txn.authentication_id else "connected"
        return True, f"{txn.service.name} is {verb} as “{auth.name}”."
    if txn.used_at is None:
        return False, "This sign-in has not finished."
    return False, txn.result_error or f"{txn.service.name} is not connected; nothing was saved."


def needs_own_oauth_app(service: Service) -> bool:
    """A catalog connector signs in with an OAuth app an organization brings (a custom service
    made from it); the connector row itself has no client id then, and cannot start a flow."""
    return service.auth_scheme != AuthScheme.TOKEN and not service.client_id


def _require_client(service: Service) -> None:
    if needs_own_oauth_app(service):
        raise RuleViolation(
            f"{service.name} has no OAuth app (client id) yet. A builder of your organization "
            "makes one at the provider and adds it as a custom service from this connector "
            '(bring your own OAuth app: POST …/custom-services/ {"template": '
            f'"{service.slug}", "client_id", "client_secret"}}); connect that service instead.',
            field="service",
        )


def _require_person(actor: Actor) -> None:
    """Someone with a browser: a member, or an end user (through a connect link or the wizard)."""
    if actor.user is None and actor.end_user is None:
        raise RuleViolation(
            "A browser sign-in flow needs a person: call this with a user session or a user API "
            "key, not an organization API key."
        )


def is_browser_flow(service: Service) -> bool:
    """Whether the service connects through the provider's consent page in a browser."""
    return service.auth_scheme == AuthScheme.OAUTH1 or (
        service.auth_scheme == AuthScheme.OAUTH2 and service.grant_type in BROWSER_GRANTS
    )


def browser_flow_start(
    *,
    actor: Actor,
    target: Target,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    base_url: str,
    return_url: str = "",
) -> AuthorizationStart:
    """Start the flow of the target's service. `base_url` is this platform's origin, for the
    redirect URI; `return_url` is recorded on the transaction for whoever finishes it (a connect
    link sends the end user back there)."""
    _require_person(actor)
    service = target.service
    _require_client(service)
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    redirect_uri = oauth_redirect_uri(base_url=base_url, service_id=service.pk)
    if actor.end_user is None:
        return_url = member_return_path(return_url)
    fields = transaction_fields(
        actor=actor, target=target, values=values, redirect_uri=redirect_uri, return_url=return_url
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
    return_url: str = "",
) -> AuthorizationStart:
    """Start connecting a new account through the browser (OAuth 2.0 code, or OAuth 1.0a): for a
    member, or for an end user (actor_for_end_user: the auth will be theirs, in the embedded
    workspace)."""
    _require_person(actor)
    target = new_connection_target(actor=actor, service=service, workspace=workspace, name=name)
    return browser_flow_start(
        actor=actor,
        target=target,
        scopes=scopes,
        parameters=parameters,
        base_url=base_url,
        return_url=return_url,
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
    """The person (or the end user) must still be allowed to do what they started."""
    try:
        if txn.end_user_id is not None:
            actor = actor_for_end_user(txn.end_user)
        else:
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


def _state_of(service: Service, query: dict) -> str:
    return query.get("oauth_token" if service.auth_scheme == AuthScheme.OAUTH1 else "state") or ""


def oauth_callback(*, user, service: Service, query: dict) -> OAuthTransaction:
    """Handle the provider's redirect back. Refusals raise CallbackRefused (nothing saved);
    otherwise the transaction is returned with result_authentication or result_error set.
    `user` is the signed-in person, or None for a flow started for an end user
    (end_user_oauth_callback)."""
    is_oauth1 = service.auth_scheme == AuthScheme.OAUTH1
    state = _state_of(service, query)
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


def end_user_oauth_callback(*, service_id, query: dict) -> OAuthTransaction | None:
    """The provider's redirect back to a flow started for an end user, answered with no session:
    the state names the transaction, which names the end user, and the auth is saved as theirs.
    Returns None when the answer names no end user's flow (it is then a member's, for
    oauth_callback with their session). Refusals raise CallbackRefused, as for members."""
    candidates = {state_digest(v): v for v in (query.get("state"), query.get("oauth_token")) if v}
    if not candidates:
        return None
    txn = (
        OAuthTransaction.objects.select_related("service", "end_user")
        .filter(state_hash__in=list(candidates), end_user__isnull=False)
        .first()
    )
    if txn is None or _state_of(txn.service, query) != candidates[txn.state_hash]:
        return None
    # The service of the callback URL, as the end user's organization sees it: an unknown or
    # foreign one cannot match the transaction's, and claiming refuses the mix-up.
    service = (
        service_list_for_actor(actor=actor_for_end_user(txn.end_user)).filter(pk=service_id).first()
    )
    if service is None:
        raise CallbackRefused("This sign-in answer arrived for another service; start again.")
    return oauth_callback(user=None, service=service, query=query)
