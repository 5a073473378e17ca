"""OAuth transactions: one browser authorization attempt, stored server-side.

A transaction holds the sha256 of a random `state` (the state itself is never stored), our own
PKCE verifier (sealed), who started it, the workspace, the service, the token URL and redirect URI
of that moment, the expected issuer, and a 10-minute expiry. It is single use: it is marked used
before anything is redeemed, but only by the person who started it: anyone else is refused
without using it up. OAuth 1.0a uses its request token as the state.

A transaction started for an end user (a connect link, the wizard) has no person: the end user
never signs in, so the single-use state, which only the browser sent to the provider holds, is the
proof, and the answer is accepted whoever's session the browser carries.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from auths.models import OAuthTransaction
from connections.connection import Target
from infrastructure.errors import DomainError
from services.models import Service
from workspaces.models import Membership

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


def with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, str(v)) for k, v in params.items() if v not in (None, "")
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def transaction_fields(
    *, actor, target: Target, values, redirect_uri: str, return_url: str = ""
) -> dict:
    """What every transaction records, whatever its protocol. `return_url`: where the browser
    goes once it is finished, for flows whose starter asked for it (a connect link)."""
    return {
        "organization": actor.organization,
        "workspace": target.workspace,
        "service": target.service,
        "started_by": actor.user,
        "end_user": actor.end_user,
        "authentication": target.existing,
        "name": target.name,
        "parameters": values.public,
        "secret_parameters": values.sealed_secret(),
        "redirect_uri": redirect_uri,
        "return_url": return_url,
        "expires_at": timezone.now() + TRANSACTION_LIFETIME,
    }


def transaction_target(txn: OAuthTransaction) -> Target:
    """The connection the transaction was started for."""
    return Target(
        service=txn.service, workspace=txn.workspace, name=txn.name, existing=txn.authentication
    )


def _not_theirs(txn: OAuthTransaction, user) -> str | None:
    """Why this person may not answer this transaction: it was started by someone else, or they
    are no longer an active member of its organization. None when it is theirs.

    `user` None answers for an end user: only a transaction started for an end user is theirs
    (its state is the proof), and only that way: a person's session does not make a member's
    sign-in an end user's, nor the reverse."""
    if user is None or txn.end_user_id is not None:
        for_end_user = user is None and txn.end_user_id is not None
        return None if for_end_user else "This sign-in was started by someone else; start your own."
    if txn.started_by_id != user.pk:
        return "This sign-in was started by someone else; start your own."
    if not Membership.objects.filter(
        organization_id=txn.organization_id, user=user, is_active=True
    ).exists():
        return f"You are no longer a member of {txn.organization.name}; nothing was saved."
    return None


def transaction_claim(*, user, service: Service, state: str, iss: str | None) -> OAuthTransaction:
    """Find the transaction by the state's hash and mark it used (single use), or refuse. `user`
    is the person answering, or None for an end user's flow (see _not_theirs).

    Whose it is comes first: someone else who learnt the state (from a shared link, a log, a
    screenshot) is refused without touching the transaction, so they cannot burn the sign-in of
    the person who started it. Everything after that is the person's own answer, and a refusal
    then uses the transaction up (an expired, mixed-up or wrong-issuer answer is not retried)."""
    digest = state_digest(state)
    refusal = None
    with transaction.atomic():
        txn = (
            OAuthTransaction.objects.select_for_update(of=("self",))
            .select_related("service", "organization", "workspace", "authentication", "end_user")
            .filter(state_hash=digest)
            .first()
        )
        if txn is None or not secrets.compare_digest(txn.state_hash, digest):
            raise CallbackRefused(
                "This sign-in answer does not match any sign-in in progress; start again."
            )
        foreign = _not_theirs(txn, user)
        if foreign:
            logger.warning("OAuth callback refused for transaction %s: %s", txn.pk, foreign)
            raise CallbackRefused(foreign)
        if txn.used_at is not None:
            raise CallbackRefused("This sign-in answer was already used; start again.")
        txn.used_at = timezone.now()
        if txn.expires_at <= txn.used_at:
            refusal = "This sign-in took longer than 10 minutes and expired; start again."
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


def transaction_finish(
    txn: OAuthTransaction, *, error: str = "", authentication=None
) -> OAuthTransaction:
    logger.info(
        "OAuth transaction %s finished: %s", txn.pk, error or f"authentication {authentication.pk}"
    )
    txn.result_error = error
    txn.result_authentication = authentication
    txn.save(update_fields=["result_error", "result_authentication"])
    return txn
