"""OAuth 2.0 tokens imported as they are (Tray's "import authentication"): a caller that already
holds someone's access token, refresh token and expiry (an embedded customer whose users connected
before it used the platform) hands them over, and from then on the platform keeps them like tokens
it obtained itself: encrypted, granted to the service's addresses as they stand now, scheduled for
refresh and their death predicted (connection_save, as every flow).

No provider is called: the first refresh or API call proves the tokens. What is checked here: the
service is OAuth 2.0, each token is one bounded string, the expiry is given at most once and is
sane (never beyond the longest lifetime a token response may declare; already past only when a
refresh token can renew it at once), the scopes are offered by the service, and its declared
parameters are given. Without an expiry the service's default lifetime applies, as for a token
response that declares none. A refresh token's age is unknown, so its predicted death counts from
the import.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from auths.models import Authentication
from auths.parameters import parameters_validate
from auths.tokens import MAX_LIFETIME_SECONDS, TokenResponse, token_response_apply
from connections.connection import Target, connection_save, require_scheme
from infrastructure.errors import RuleViolation
from services.models import AuthScheme
from workspaces.access import Actor

# Real tokens (JWTs included) stay far below this; the cap bounds what is stored and encrypted.
MAX_TOKEN_LENGTH = 16 * 1024


@dataclass(frozen=True)
class ImportedTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    # The access token's expiry: a moment, or seconds from now (not both).
    expires_at: datetime | None = None
    expires_in: int | None = None
    # What the tokens were granted; None: the service's default scopes.
    scopes: list[str] | None = None


@sensitive_variables()
def _token(value, *, name: str, required: bool) -> str | None:
    """A token as given, or a refusal that never repeats it."""
    if value is None or value == "":
        if required:
            raise RuleViolation(f"Give the {name} the provider issued.", field=name)
        return None
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH:
        raise RuleViolation(
            f"{name}: give the token as a string of at most {MAX_TOKEN_LENGTH:,} characters.",
            field=name,
        )
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise RuleViolation(
            f"{name}: a token holds no spaces, line breaks or control characters; give it "
            "exactly as the provider issued it.",
            field=name,
        )
    return value


def _expiry(*, service, tokens: ImportedTokens, has_refresh: bool, now) -> tuple[datetime, bool]:
    """(when the access token expires, whether that was defaulted)."""
    longest = timedelta(seconds=MAX_LIFETIME_SECONDS)
    if tokens.expires_at is not None and tokens.expires_in is not None:
        raise RuleViolation(
            "Give the access token's expiry once: expires_at or expires_in, not both.",
            field="expires_in",
        )
    if tokens.expires_in is not None:
        seconds = tokens.expires_in
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise RuleViolation("expires_in: give a whole number of seconds.", field="expires_in")
        if not 0 < seconds <= MAX_LIFETIME_SECONDS:
            raise RuleViolation(
                f"expires_in: give the access token's remaining lifetime, from 1 to "
                f"{MAX_LIFETIME_SECONDS:,} seconds.",
                field="expires_in",
            )
        return now + timedelta(seconds=seconds), False
    if tokens.expires_at is not None:
        expires_at = tokens.expires_at
        if timezone.is_naive(expires_at):
            raise RuleViolation(
                "expires_at: give the moment with its UTC offset (2030-01-31T12:00:00Z).",
                field="expires_at",
            )
        if expires_at > now + longest:
            raise RuleViolation(
                "expires_at: that is more than ten years away; give the access token's real "
                "expiry, or leave it out to use the service's default lifetime.",
                field="expires_at",
            )
        if expires_at <= now and not has_refresh:
            raise RuleViolation(
                "expires_at: this access token has already expired and there is no "
                "refresh_token to renew it. Give a refresh_token, or send the end user to "
                "authenticate again.",
                field="expires_at",
            )
        return expires_at, False
    return now + timedelta(seconds=service.default_token_lifetime or 3600), True


@sensitive_variables()
def oauth2_tokens_import(
    *,
    actor: Actor,
    target: Target,
    tokens: ImportedTokens,
    parameters: dict | None = None,
    message: str = "",
) -> Authentication:
    """Save `tokens` as the credentials of `target` (a new auth, or one re-authenticated in place).
    The actor is whoever will own the auth (connection_save decides ownership from it)."""
    service = target.service
    require_scheme(service, AuthScheme.OAUTH2)
    access_token = _token(tokens.access_token, name="access_token", required=True)
    refresh_token = _token(tokens.refresh_token, name="refresh_token", required=False)
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    scopes = target.scopes(tokens.scopes)
    now = timezone.now()
    expires_at, defaulted = _expiry(
        service=service, tokens=tokens, has_refresh=refresh_token is not None, now=now
    )
    # Shaped as a token response, so the lifecycle records and schedules it as any other.
    response = TokenResponse(
        access_token=access_token,
        refresh_token=refresh_token,
        token_type="Bearer",
        expires_in=max(0, int((expires_at - now).total_seconds())),
        expires_in_defaulted=defaulted,
        scopes=scopes,
        refresh_token_expires_in=None,
        refresh_token_expires_field="",
        parameters={},
    )

    def apply(auth):
        token_response_apply(authentication=auth, token_response=response, now=now)
        auth.access_token_expires_at = expires_at  # exactly as given (it may be past)

    return connection_save(
        actor=actor,
        target=target,
        values=values,
        apply=apply,
        token_response=response,
        message=message,
    )
