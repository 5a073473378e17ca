"""OAuth 2.0 authorization code with PKCE S256, the preferred flow.

Start: a transaction (connections/transactions.py) and the authorize URL carrying the state and
the S256 challenge. Finish: the code is redeemed only at the transaction's token URL (the one of
the moment the flow started, never a newer one), with its verifier and redirect URI.
"""

import base64
import hashlib
import secrets

from auths.models import OAuthTransaction
from auths.parameters import ParameterValues
from auths.tokens import (
    TokenError,
    client_credentials_of,
    service_url,
    token_request,
    token_response_apply,
)
from connections.connection import Target, connection_save
from connections.transactions import (
    AuthorizationStart,
    state_digest,
    transaction_finish,
    transaction_target,
    with_query,
)
from infrastructure import egress
from workspaces.access import Actor


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(*, txn: OAuthTransaction, state: str) -> str:
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
    return with_query(base, params)


def authorization_code_start(
    *, target: Target, values: ParameterValues, scopes: list[str], fields: dict
) -> AuthorizationStart:
    service = target.service
    client_id, _ = client_credentials_of(service=service, values=values)
    state = secrets.token_urlsafe(32)
    txn = OAuthTransaction.objects.create(
        **fields,
        state_hash=state_digest(state),
        code_verifier=secrets.token_urlsafe(64) if service.pkce else None,
        scopes=scopes,
        token_url=service_url(service=service, values=values, attribute="token_url"),
        client_id=client_id,
        expected_issuer=service.issuer,
    )
    return AuthorizationStart(transaction=txn, authorize_url=authorize_url(txn=txn, state=state))


def authorization_code_restart(txn: OAuthTransaction) -> str:
    """Only the state's hash is stored, so a restart gets a fresh state (the earlier URL stops
    working)."""
    state = secrets.token_urlsafe(32)
    txn.state_hash = state_digest(state)
    txn.save(update_fields=["state_hash"])
    return authorize_url(txn=txn, state=state)


def authorization_code_finish(
    *, txn: OAuthTransaction, actor: Actor, code: str
) -> OAuthTransaction:
    service = txn.service
    if not code:
        return transaction_finish(
            txn, error=f"{service.name} sent no authorization code; start again."
        )
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
        return transaction_finish(
            txn, error=f"{service.name} did not issue tokens: {error.description}"
        )
    except egress.EgressRefused as error:
        return transaction_finish(txn, error=f"The token URL is not reachable: {error}")

    def apply(auth):
        auth.scopes = txn.scopes
        token_response_apply(authentication=auth, token_response=response)

    auth = connection_save(
        actor=actor,
        target=transaction_target(txn),
        values=values,
        apply=apply,
        token_response=response,
    )
    return transaction_finish(txn, authentication=auth)
