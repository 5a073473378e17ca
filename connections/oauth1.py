"""OAuth 1.0a three-legged (discouraged). The request token plays the part of `state` (its sha256
is the transaction's key); the request- and access-token calls go through requests-oauthlib's
OAuth1Session built by infrastructure.egress. Only HMAC-SHA1 signatures."""

import requests
from oauthlib.oauth1.rfc5849.errors import OAuth1Error
from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied, VerifierMissing

from auths.models import OAuthTransaction
from auths.parameters import ParameterValues
from auths.tokens import client_credentials_of, service_url, token_deadline
from connections.connection import Target, connection_save
from connections.transactions import (
    AuthorizationStart,
    state_digest,
    transaction_finish,
    transaction_target,
    with_query,
)
from infrastructure import egress
from infrastructure.encryption import Sealed
from infrastructure.errors import UpstreamError
from workspaces.access import Actor

OAUTH1_ERRORS = (
    TokenRequestDenied,
    TokenMissing,
    VerifierMissing,
    OAuth1Error,
    ValueError,
    requests.RequestException,
)


def _oauth1_error(error) -> str:
    if isinstance(error, TokenRequestDenied):
        return f"answered HTTP {error.status_code}"
    if isinstance(error, egress.EgressRefused):
        return str(error)
    if isinstance(error, requests.Timeout):
        return f"did not answer in time ({error})"
    return f"gave no usable token ({type(error).__name__})"


def oauth1_authorize_url(txn: OAuthTransaction) -> str:
    values = ParameterValues.of(txn)
    base = service_url(service=txn.service, values=values, attribute="authorize_url")
    return with_query(base, {"oauth_token": txn.request_token})


def oauth1_start(*, target: Target, values: ParameterValues, fields: dict) -> AuthorizationStart:
    service = target.service
    client_key, client_secret = client_credentials_of(service=service, values=values)
    session = egress.oauth1_session(
        policy=egress.EgressPolicy.for_organization(fields["organization"]),
        client_key=client_key,
        client_secret=client_secret,
        callback_uri=fields["redirect_uri"],
        total=token_deadline(service),
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
        **fields,
        state_hash=state_digest(request_token),
        request_token=request_token,
        request_token_secret=tokens.get("oauth_token_secret") or None,
        token_url=service_url(service=service, values=values, attribute="token_url"),
        client_id=client_key,
    )
    return AuthorizationStart(transaction=txn, authorize_url=oauth1_authorize_url(txn))


def oauth1_finish(*, txn: OAuthTransaction, actor: Actor, verifier: str) -> OAuthTransaction:
    service = txn.service
    if not verifier:
        return transaction_finish(txn, error=f"{service.name} sent no oauth_verifier; start again.")
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
        total=token_deadline(service),
    )
    try:
        tokens = session.fetch_access_token(txn.token_url)
    except OAUTH1_ERRORS as error:
        return transaction_finish(
            txn, error=f"{service.name} did not issue an access token: {_oauth1_error(error)}."
        )
    finally:
        session.close()
    if not tokens.get("oauth_token"):
        return transaction_finish(txn, error=f"{service.name} did not issue an access token.")

    def apply(auth):
        auth.access_token = tokens["oauth_token"]
        auth.token_secret = tokens.get("oauth_token_secret") or None
        auth.token_type = "oauth1"
        auth.access_token_expires_at = None

    auth = connection_save(actor=actor, target=transaction_target(txn), values=values, apply=apply)
    return transaction_finish(txn, authentication=auth)
