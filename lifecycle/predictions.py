"""Early expiry, predicted: the date each auth's refresh token (so the auth itself) will die, and why.
Plain functions of the row, no writes (lifecycle/state.py stores the prediction).

Rules, the earliest date wins:
- declared: the provider said so in a token response (`refresh_token_expires_in`,
  `x_refresh_token_expires_in`, `refresh_expires_in`), counted from that response;
- test status: the service's umbrella app is in test status (Google "Testing": refresh tokens die
  7 days after consent), unless the auth asked only for the service's test_exempt_scopes;
- suspected test status: the service was flagged by detection (auths keep dying at a similar short
  age), counted from consent with the age seen;
- max age: service.refresh_token_max_age from the refresh token's issue;
- idle: service.refresh_token_idle_timeout from the last use or refresh (refreshing keeps it alive);
- no refresh token (authorization code): the auth dies with its access token.

Within the organization's expiry_warning_days an active auth becomes `expiring`, with the reason and
the date in status_reason, and people are told once (lifecycle/state.py).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from services.models import AuthScheme, GrantType, UmbrellaStatus

DEFAULT_TEST_REFRESH_TOKEN_LIFETIME = 7 * 24 * 3600  # Google's "Testing" rule, the common case
DECLARED_LIFETIME_FIELDS = (
    "refresh_token_expires_in",
    "x_refresh_token_expires_in",
    "refresh_expires_in",
)


@dataclass(frozen=True)
class Death:
    expires_at: datetime
    reason: str
    code: str


def duration_in_words(seconds: float) -> str:
    def number(value: float) -> str:
        return f"{value:.1f}".removesuffix(".0")

    if seconds >= 86400:
        return f"{number(seconds / 86400)} days"
    if seconds >= 3600:
        return f"{number(seconds / 3600)} hours"
    return f"{seconds:.0f} seconds"


def format_when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def declared_lifetime_seconds(token_response) -> float | None:
    """The refresh-token lifetime a token response declares, if any (a parsed
    auths.tokens.TokenResponse, or a raw dict)."""
    if token_response is None:
        return None
    if isinstance(token_response, dict):
        values = [token_response.get(name) for name in DECLARED_LIFETIME_FIELDS]
    else:
        values = [getattr(token_response, "refresh_token_expires_in", None)]
    for value in values:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return None


def _brings_refresh_token(token_response) -> bool:
    if isinstance(token_response, dict):
        return bool(token_response.get("refresh_token"))
    return bool(getattr(token_response, "refresh_token", None))


def consent_time(authentication) -> datetime:
    return authentication.consented_at or authentication.created_at or timezone.now()


def scopes_only_exempt(authentication) -> bool:
    exempt = set(authentication.service.test_exempt_scopes or [])
    scopes = set(authentication.scopes or [])
    return bool(exempt) and bool(scopes) and scopes <= exempt


def _candidates(authentication, *, include_suspected: bool) -> list[Death]:
    service = authentication.service
    consent = consent_time(authentication)
    found = []
    if authentication.refresh_token_declared_expires_at:
        found.append(
            Death(
                authentication.refresh_token_declared_expires_at,
                "the provider declared the refresh token's lifetime in its token response",
                "declared",
            )
        )
    if service.umbrella_status == UmbrellaStatus.TEST and not scopes_only_exempt(authentication):
        lifetime = service.test_refresh_token_lifetime or DEFAULT_TEST_REFRESH_TOKEN_LIFETIME
        found.append(
            Death(
                consent + timedelta(seconds=lifetime),
                f"umbrella app in test status: refresh tokens die {duration_in_words(lifetime)} after consent",
                "test_status",
            )
        )
    elif (
        include_suspected
        and service.suspected_test_status
        and not scopes_only_exempt(authentication)
    ):
        lifetime = (service.suspected_evidence or {}).get("suspected_lifetime_seconds")
        if lifetime:
            found.append(
                Death(
                    consent + timedelta(seconds=float(lifetime)),
                    "umbrella app suspected to be in test status: this service's auths keep dying "
                    f"about {duration_in_words(float(lifetime))} after consent",
                    "suspected_test_status",
                )
            )
    if service.refresh_token_max_age:
        issued = authentication.refresh_token_issued_at or consent
        found.append(
            Death(
                issued + timedelta(seconds=service.refresh_token_max_age),
                f"the provider limits refresh tokens to {duration_in_words(service.refresh_token_max_age)}",
                "max_age",
            )
        )
    if service.refresh_token_idle_timeout:
        moments = [
            authentication.last_used_at,
            authentication.last_refreshed_at,
            authentication.refresh_token_issued_at,
            consent,
        ]
        last_activity = max(m for m in moments if m)
        found.append(
            Death(
                last_activity + timedelta(seconds=service.refresh_token_idle_timeout),
                "the provider revokes refresh tokens unused for "
                f"{duration_in_words(service.refresh_token_idle_timeout)}",
                "idle",
            )
        )
    if (
        authentication.refresh_token is None  # empty secrets are stored as NULL
        and service.grant_type in ("", GrantType.AUTHORIZATION_CODE)
        and authentication.access_token_expires_at
    ):
        found.append(
            Death(
                authentication.access_token_expires_at,
                "no refresh token: the auth dies when its access token expires",
                "no_refresh_token",
            )
        )
    return found


def refresh_token_death_predict(
    authentication, *, now: datetime | None = None, include_suspected: bool = True
) -> Death | None:
    """When this auth's refresh token will die, and why; None when nothing is known to kill it.

    A rule whose date has passed while the auth still holds a refresh token is no prediction: the
    auth outlived it, so the rule does not apply to it (a "Dies on <a past date>" would be false).
    Only the death of an auth without a refresh token stays, past or not: it is certain.
    `include_suspected=False` leaves out the service's suspected test status: detection compares
    a death with what was known without its own guess.
    """
    if authentication.service.auth_scheme != AuthScheme.OAUTH2:
        return None
    if authentication.service.grant_type == GrantType.CLIENT_CREDENTIALS:
        return None  # a new token is simply requested again
    now = now or timezone.now()
    candidates = [
        death
        for death in _candidates(authentication, include_suspected=include_suspected)
        if death.expires_at > now or death.code == "no_refresh_token"
    ]
    return min(candidates, key=lambda d: d.expires_at) if candidates else None


def declared_expiry(*, authentication, token_response, now: datetime) -> dict:
    """The declared-lifetime column a token response implies, as {field: value} (empty when it
    changes nothing). A response that brings a new refresh token without a declaration clears the
    old one (it described the previous refresh token)."""
    seconds = declared_lifetime_seconds(token_response)
    if seconds is not None:
        value = now + timedelta(seconds=seconds)
    elif _brings_refresh_token(token_response):
        value = None
    else:
        return {}
    return {"refresh_token_declared_expires_at": value}


def warning_window(authentication) -> timedelta:
    return timedelta(days=authentication.organization.expiry_warning_days)
