"""The browser flows: OAuth 2.0 authorization code (+ PKCE S256) and OAuth 1.0a three-legged.

Start: an OAuthTransaction row is stored server-side: the sha256 of a random `state` (the state
itself is never stored), our own PKCE verifier (sealed), who started it, the workspace, the service,
the token URL and redirect URI of that moment, the expected issuer, a 10-minute expiry. The
authorize URL carries the state and the S256 challenge.

Callback (one URL per service, /api/oauth/callback/<service uuid>/, the mix-up defence of RFC 9700
§4.4.2): the state is looked up by its hash and compared in constant time; missing, unknown,
expired, replayed, foreign (another person's) and wrong-service states are refused, as is an `iss`
that does not match the expected issuer (RFC 9207). The transaction is single use: it is marked
used before the code is redeemed. The code is redeemed only at the stored token URL with the
stored verifier and redirect URI.

OAuth 1.0a: the request token plays the part of `state` (its sha256 is the transaction's key);
the request and access token calls go through requests-oauthlib's OAuth1Session built by
auths.egress.
"""

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from oauthlib.oauth1.rfc5849.errors import OAuth1Error
from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied, VerifierMissing

from auths import egress
from auths.authentications import (
    UpstreamError,
    _clean_name,
    _scopes,
    connection_save,
    default_workspace,
    require_manage,
)
from auths.encryption import Sealed
from auths.models import Authentication, OAuthTransaction
from auths.parameters import ParameterValues, parameters_validate
from auths.tokens import (
    TokenError,
    client_credentials_of,
    service_url,
    token_request,
    token_response_apply,
)
from services.models import AuthScheme, GrantType, Service
from workspaces.access import Actor, actor_for, require_asset_creation
from workspaces.errors import DomainError, RuleViolation

TRANSACTION_LIFETIME = timedelta(minutes=10)
logger = logging.getLogger(__name__)


class CallbackRefused(DomainError):
    """The authorization response cannot be accepted; nothing was saved. Safe to show."""

    status_code = 400
    code = "oauth_refused"


@dataclass(frozen=True)
class AuthorizationStart:
    transaction: OAuthTransaction
    authorize_url: str

    @property
    def start_path(self) -> str:
        return reverse("oauth-start", kwargs={"transaction_id": self.transaction.pk})


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, str(v)) for k, v in params.items() if v not in (None, "")
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _authorize_url(*, txn: OAuthTransaction, state: str) -> str:
    service = txn.service
    values = ParameterValues.of(txn)
    params = {
        "response_type": "code",
        "client_id": txn.client_id,
        "redirect_uri": txn.redirect_uri,
        "scope": (service.scope_separator or " ").join(txn.scopes) if txn.scopes else "",
        "state": state,
    }
    if txn.code_verifier is not None:
        params["code_challenge"] = pkce_challenge(txn.code_verifier.reveal())
        params["code_challenge_method"] = "S256"
    for key, value in (service.authorize_params or {}).items():
        params.setdefault(str(key), value)
    base = service_url(service=service, values=values, attribute="authorize_url")
    return _with_query(base, params)


def _require_person(actor: Actor) -> None:
    if actor.user is None:
        raise RuleViolation(
            "A browser sign-in flow needs a person: call this with a user session or a user API "
            "key, not an organization API key."
        )


def oauth_authorization_start(
    *,
    actor: Actor,
    service: Service | None = None,
    workspace=None,
    name: str = "",
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    authentication: Authentication | None = None,
    base_url: str,
) -> AuthorizationStart:
    """Start an authorization-code (or OAuth 1.0a) flow; with `authentication`, re-authenticate it
    in place. `base_url` is this platform's origin, for the redirect URI."""
    _require_person(actor)
    existing = None
    if authentication is not None:
        require_manage(actor=actor, authentication=authentication, action="re-authenticate")
        service, workspace = authentication.service, authentication.workspace
        name, existing = authentication.name, ParameterValues.of(authentication)
        if scopes is None:
            scopes = authentication.scopes
    else:
        workspace = default_workspace(actor=actor, workspace=workspace)
        require_asset_creation(actor=actor, workspace=workspace)
        name = _clean_name(name, service, actor)
    values = parameters_validate(service=service, values=parameters, existing=existing)
    redirect_uri = base_url.rstrip("/") + reverse(
        "oauth-callback", kwargs={"service_id": service.pk}
    )
    common = {
        "organization": actor.organization,
        "workspace": workspace,
        "service": service,
        "started_by": actor.user,
        "authentication": authentication,
        "name": name,
        "parameters": values.public,
        "secret_parameters": values.sealed_secret(),
        "redirect_uri": redirect_uri,
        "expires_at": timezone.now() + TRANSACTION_LIFETIME,
    }
    if service.auth_scheme == AuthScheme.OAUTH1:
        return _oauth1_start(service=service, values=values, common=common)
    if service.auth_scheme != AuthScheme.OAUTH2 or service.grant_type not in (
        GrantType.AUTHORIZATION_CODE,
        "",
    ):
        raise RuleViolation(
            f"{service.name} does not use a browser sign-in (its scheme is "
            f"{service.get_auth_scheme_display()}); use the flow for its scheme.",
            field="service",
        )
    client_id, _ = client_credentials_of(service=service, values=values)
    state = secrets.token_urlsafe(32)
    txn = OAuthTransaction.objects.create(
        **common,
        state_hash=state_digest(state),
        code_verifier=secrets.token_urlsafe(64) if service.pkce else None,
        scopes=_scopes(service, scopes),
        token_url=service_url(service=service, values=values, attribute="token_url"),
        client_id=client_id,
        expected_issuer=service.issuer,
    )
    return AuthorizationStart(transaction=txn, authorize_url=_authorize_url(txn=txn, state=state))


def oauth_authorization_restart(*, user, transaction_id) -> str:
    """The browser route /oauth/start/<transaction>/: the authorize URL for an open transaction of
    this person. Only the state's hash is stored, so OAuth 2.0 gets a fresh state (the earlier URL
    stops working); OAuth 1.0a reuses its request token."""
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
            values = ParameterValues.of(txn)
            base = service_url(service=txn.service, values=values, attribute="authorize_url")
            return _with_query(base, {"oauth_token": txn.request_token})
        state = secrets.token_urlsafe(32)
        txn.state_hash = state_digest(state)
        txn.save(update_fields=["state_hash"])
        return _authorize_url(txn=txn, state=state)


# --- callback -----------------------------------------------------------------------------------


def _claim(*, user, service: Service, state: str, iss: str | None) -> OAuthTransaction:
    """Find the transaction by the state's hash and mark it used (single use), or refuse."""
    digest = state_digest(state)
    refusal = None
    with transaction.atomic():
        txn = (
            OAuthTransaction.objects.select_for_update(of=("self",))
            .select_related("service", "organization", "workspace")
            .filter(state_hash=digest)
            .first()
        )
        if txn is None or not secrets.compare_digest(txn.state_hash, digest):
            raise CallbackRefused(
                "This sign-in answer does not match any sign-in in progress; start again."
            )
        if txn.used_at is not None:
            raise CallbackRefused("This sign-in answer was already used; start again.")
        txn.used_at = timezone.now()
        if txn.expires_at <= txn.used_at:
            refusal = "This sign-in took longer than 10 minutes and expired; start again."
        elif txn.started_by_id != user.pk:
            refusal = "This sign-in was started by someone else; start your own."
        elif txn.service_id != service.pk:
            refusal = "This sign-in answer arrived for another service; start again."
        elif txn.expected_issuer and iss != txn.expected_issuer:
            refusal = (
                "The sign-in answer came from an unexpected issuer"
                + (" (no iss parameter)" if not iss else "")
                + "; nothing was saved."
            )
        if refusal:
            txn.result_error = refusal
        txn.save(update_fields=["used_at", "result_error"])
    if refusal:
        logger.warning("OAuth callback refused for transaction %s: %s", txn.pk, refusal)
        raise CallbackRefused(refusal)
    return txn


def _finish(txn: OAuthTransaction, *, error: str = "", authentication=None) -> OAuthTransaction:
    logger.info(
        "OAuth transaction %s finished: %s", txn.pk, error or f"authentication {authentication.pk}"
    )
    txn.result_error = error
    txn.result_authentication = authentication
    txn.save(update_fields=["result_error", "result_authentication"])
    return txn


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


def _save_connection(*, txn: OAuthTransaction, actor: Actor, apply, token_response=None):
    return connection_save(
        actor=actor,
        created_by=actor.user,
        existing_id=txn.authentication_id,
        organization=txn.organization,
        workspace=txn.workspace,
        service=txn.service,
        owner=actor.membership,
        name=txn.name,
        values=ParameterValues.of(txn),
        apply=apply,
        token_response=token_response,
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
    txn = _claim(user=user, service=service, state=state, iss=query.get("iss"))

    if query.get("error") or (is_oauth1 and query.get("denied")):
        code = query.get("error") or "access_denied"
        if code == "access_denied":
            message = f"You declined access at {service.name}; nothing was saved."
        else:
            description = (query.get("error_description") or "")[:300]
            message = f"{service.name} answered with an error ({code[:100]})" + (
                f": {description}" if description else "."
            )
        return _finish(txn, error=message)

    actor = _callback_actor(txn, user)
    if actor is None:
        return _finish(txn, error="You may no longer create this authentication; nothing saved.")
    if is_oauth1:
        return _oauth1_finish(txn=txn, actor=actor, verifier=query.get("oauth_verifier") or "")

    code = query.get("code") or ""
    if not code:
        return _finish(txn, error=f"{service.name} sent no authorization code; start again.")
    verifier = txn.code_verifier.reveal() if txn.code_verifier is not None else None
    values = ParameterValues.of(txn)
    try:
        response = token_request(
            service=service,
            policy=egress.EgressPolicy.for_organization(txn.organization),
            url=txn.token_url,  # the token URL of the moment the flow started, never a newer one
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": txn.redirect_uri,
                "code_verifier": verifier,
                **(service.token_params or {}),
            },
            values=values,
            client_id=txn.client_id,
            scrub=tuple(s for s in (code, verifier) if s),
        )
    except TokenError as error:
        return _finish(txn, error=f"{service.name} did not issue tokens: {error.description}")
    except egress.EgressRefused as error:
        return _finish(txn, error=f"The token URL is not reachable: {error}")

    def apply(auth):
        auth.scopes = txn.scopes
        token_response_apply(authentication=auth, token_response=response)

    auth = _save_connection(txn=txn, actor=actor, apply=apply, token_response=response)
    return _finish(txn, authentication=auth)


# --- OAuth 1.0a -----------------------------------------------------------------------------------


def _oauth1_error(error) -> str:
    if isinstance(error, TokenRequestDenied):
        return f"answered HTTP {error.status_code}"
    if isinstance(error, egress.EgressRefused):
        return str(error)
    return f"gave no usable token ({type(error).__name__})"


OAUTH1_ERRORS = (
    TokenRequestDenied,
    TokenMissing,
    VerifierMissing,
    OAuth1Error,
    ValueError,
    requests.RequestException,
)


def _oauth1_start(*, service: Service, values: ParameterValues, common: dict):
    client_key, client_secret = client_credentials_of(service=service, values=values)
    policy = egress.EgressPolicy.for_organization(common["organization"])
    session = egress.oauth1_session(
        policy=policy,
        client_key=client_key,
        client_secret=client_secret,
        callback_uri=common["redirect_uri"],
    )
    try:
        tokens = session.fetch_request_token(
            service_url(service=service, values=values, attribute="request_token_url")
        )
    except OAUTH1_ERRORS as error:
        raise UpstreamError(
            f"{service.name} did not issue a request token: {_oauth1_error(error)}."
        ) from None
    finally:
        session.close()
    request_token = tokens.get("oauth_token")
    if not request_token:
        raise UpstreamError(f"{service.name} did not issue a request token.")
    txn = OAuthTransaction.objects.create(
        **common,
        state_hash=state_digest(request_token),
        request_token=request_token,
        request_token_secret=tokens.get("oauth_token_secret") or None,
        token_url=service_url(service=service, values=values, attribute="token_url"),
        client_id=client_key,
    )
    base = service_url(service=service, values=values, attribute="authorize_url")
    return AuthorizationStart(
        transaction=txn, authorize_url=_with_query(base, {"oauth_token": request_token})
    )


def _oauth1_finish(*, txn: OAuthTransaction, actor: Actor, verifier: str) -> OAuthTransaction:
    service = txn.service
    if not verifier:
        return _finish(txn, error=f"{service.name} sent no oauth_verifier; start again.")
    values = ParameterValues.of(txn)
    client_key, client_secret = client_credentials_of(service=service, values=values)
    secret = txn.request_token_secret
    session = egress.oauth1_session(
        policy=egress.EgressPolicy.for_organization(txn.organization),
        client_key=client_key,
        client_secret=client_secret,
        resource_owner_key=txn.request_token,
        resource_owner_secret=secret.reveal() if isinstance(secret, Sealed) else None,
        verifier=verifier,
    )
    try:
        tokens = session.fetch_access_token(txn.token_url)
    except OAUTH1_ERRORS as error:
        return _finish(
            txn, error=f"{service.name} did not issue an access token: {_oauth1_error(error)}."
        )
    finally:
        session.close()
    if not tokens.get("oauth_token"):
        return _finish(txn, error=f"{service.name} did not issue an access token.")

    def apply(auth):
        auth.access_token = tokens["oauth_token"]
        auth.token_secret = tokens.get("oauth_token_secret") or None
        auth.token_type = "oauth1"
        auth.access_token_expires_at = None

    auth = _save_connection(txn=txn, actor=actor, apply=apply)
    return _finish(txn, authentication=auth)
