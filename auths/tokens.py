"""Token-endpoint calls and token-response parsing, shared by every OAuth 2.0 flow and by refresh.

Outcomes are classified once, here:
- a usable response -> TokenResponse (access token, expiry, refresh token, scopes, extra values);
- `invalid_grant` / `unauthorized_client` / `invalid_client` -> RefreshRejected(error, description):
  the grant is dead, a person must re-authenticate; never retried;
- 5xx, 429, timeouts, connection failures -> TransientTokenError(retry_after=...), honouring
  Retry-After;
- HTML, non-JSON, a 200 carrying `error`, no access token -> MalformedTokenResponse (transient);
- any other OAuth error (`invalid_request`, `invalid_scope`, ...) -> TokenEndpointError (transient:
  working credentials are never thrown away on an ambiguous answer).

Every `description` is safe to store and show: it never contains a token, code, verifier, password
or client secret (provider text is scrubbed of the secrets we sent and truncated).

Token calls are plain form POSTs through infrastructure.egress (no redirects, timeouts, size cap, SSRF guard),
not OAuth2Session.fetch_token: we need the status code, headers and raw body to classify the answer,
and requests-oauthlib would log tokens at DEBUG and raise its own, less precise, errors.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote_plus

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from auths.parameters import ParameterValues, resolve_placeholders, resolve_url
from infrastructure import egress

REJECTING_ERRORS = frozenset({"invalid_grant", "unauthorized_client", "invalid_client"})
MAX_DESCRIPTION = 300
MAX_RETRY_AFTER = 3600
CONNECT_TIMEOUT = 5.0
# A lifetime beyond this (or infinite, or not a number a datetime can hold) is taken as this: a
# provider's `expires_in: 1e400` must not crash the refresh that receives it.
MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600


def token_deadline(service) -> float:
    """Seconds a whole token call may take: the service's own, else TOKEN_REQUEST_DEADLINE_SECONDS.
    Long enough for slow providers: a refresh abandoned by us may still be processed by them."""
    return float(service.token_request_timeout or settings.TOKEN_REQUEST_DEADLINE_SECONDS)


class TokenError(Exception):
    """A token-endpoint call that gave no usable token. `description` is safe to store and show."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class TransientTokenError(TokenError):
    """Try again later (5xx, 429, timeout, connection failure); `retry_after` in seconds or None."""

    def __init__(self, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.retry_after = retry_after


class TokenCallTimedOut(TransientTokenError):
    """No answer in time: the provider may have processed the request anyway (with rotating
    refresh tokens, the one we hold may now be spent)."""


class MalformedTokenResponse(TransientTokenError):
    """The endpoint answered, but not with a usable token response (HTML, not JSON, no token)."""


class TokenEndpointError(TransientTokenError):
    """An OAuth error that does not prove the grant dead (invalid_request, invalid_scope, ...)."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


class RefreshRejected(TokenError):
    """The provider refused the grant (`invalid_grant`, `unauthorized_client`, `invalid_client`)."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.provider_description = description


@dataclass(frozen=True)
class TokenResponse:
    """A parsed successful token response. The secrets are left out of repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int
    # True when the response had no usable expires_in and service.default_token_lifetime was used.
    expires_in_defaulted: bool
    scopes: list[str] | None
    refresh_token_expires_in: int | None
    refresh_token_expires_field: str
    parameters: dict

    def summary(self) -> dict:
        """What may be logged, stored in an event or passed on: no secrets."""
        return {
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "expires_in_defaulted": self.expires_in_defaulted,
            "has_refresh_token": bool(self.refresh_token),
            "scopes": self.scopes,
            "refresh_token_expires_in": self.refresh_token_expires_in,
            "parameters": sorted(self.parameters),
        }


# --- requests ------------------------------------------------------------------------------------


@sensitive_variables()
def client_credentials_of(*, service, values: ParameterValues) -> tuple[str, str | None]:
    """The service's client id and secret with placeholders resolved."""
    merged = values.merged()
    client_id = resolve_placeholders(service.client_id, merged, what="client id")
    secret = service.client_secret.reveal() if service.client_secret else None
    if secret:
        secret = resolve_placeholders(secret, merged, what="client secret")
    return client_id, secret or None


def service_url(*, service, values: ParameterValues, attribute: str) -> str:
    """One of the service's URLs (token_url, refresh_url, revoke_url, ...) resolved."""
    return resolve_url(
        getattr(service, attribute), values.merged(), what=attribute.replace("_", " ")
    )


@sensitive_variables()
def _post(*, service, policy, url, data, values, client_id=None, scrub=()):
    """POST a form to a token-type endpoint with client authentication per
    service.client_auth_method. Returns (response, secrets to scrub from descriptions)."""
    default_id, client_secret = client_credentials_of(service=service, values=values)
    client_id = client_id or default_id
    body = {k: v for k, v in data.items() if v not in (None, "")}
    headers = {"Accept": "application/json"}
    if client_secret and service.client_auth_method == "basic":
        # RFC 6749 §2.3.1: form-encode the id and secret before Basic encoding.
        auth = (quote_plus(client_id), quote_plus(client_secret))
    else:
        auth = None
        if client_id:
            body["client_id"] = client_id
        if client_secret:
            body["client_secret"] = client_secret
    scrub = tuple(s for s in (*scrub, client_secret) if s)

    # One pooled session per worker thread and policy (keep-alive to the provider); see
    # egress.pooled_http_session for why the guards still hold per request. The read timeout is
    # the whole deadline: a provider that thinks for 40 s before answering is slow, not dead.
    total = token_deadline(service)
    session = egress.pooled_http_session(
        policy=policy, timeout=(CONNECT_TIMEOUT, total), total=total
    )
    try:
        response = session.post(url, data=body, headers=headers, auth=auth)
    except egress.EgressRefused:
        raise
    except egress.ResponseTooLarge:
        raise MalformedTokenResponse("The token endpoint's answer was too large.") from None
    except requests.Timeout:
        raise TokenCallTimedOut(
            f"The token endpoint did not answer within {total:g} s; it may still have processed "
            "the request."
        ) from None
    except requests.RequestException as error:
        raise TransientTokenError(
            f"The token endpoint could not be reached ({type(error).__name__})."
        ) from None
    return response, scrub


@sensitive_variables()
def token_request(
    *,
    service,
    policy: egress.EgressPolicy,
    url: str,
    data: dict,
    values: ParameterValues,
    client_id: str | None = None,
    scrub: tuple[str, ...] = (),
) -> TokenResponse:
    """POST a token request and classify the answer (see the module docstring).

    `data` holds the grant (grant_type and its fields); client authentication is added per
    service.client_auth_method. `scrub` lists secrets in the request that must never appear in a
    description (the refresh token, code, verifier, password).
    """
    response, scrub = _post(
        service=service,
        policy=policy,
        url=url,
        data=data,
        values=values,
        client_id=client_id,
        scrub=scrub,
    )
    return parse_token_response(service=service, response=response, scrub=scrub)


@sensitive_variables()
def token_revoke(*, service, policy, url, token: str, hint: str, values: ParameterValues) -> None:
    """RFC 7009 revocation. Raises TokenError (with a safe description) unless the endpoint
    answered 200 (the RFC's success, whatever the body)."""
    response, scrub = _post(
        service=service,
        policy=policy,
        url=url,
        data={"token": token, "token_type_hint": hint},
        values=values,
        scrub=(token,),
    )
    if response.status_code == 200:
        return
    payload = _payload(response)
    error = _clean(payload.get("error"), scrub)[:100] if payload else ""
    raise TokenError(
        f"The revocation endpoint answered HTTP {response.status_code}"
        + (f" ({error})." if error else ".")
    )


# --- parsing -------------------------------------------------------------------------------------


def _clean(text, scrub: tuple[str, ...]) -> str:
    text = "" if text is None else str(text)
    for secret in scrub:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    return text[:MAX_DESCRIPTION]


def retry_after_seconds(value: str | None) -> int | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, min(math.ceil((when - timezone.now()).total_seconds()), MAX_RETRY_AFTER))


def _payload(response: requests.Response) -> dict | None:
    try:
        payload = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "")
        if "x-www-form-urlencoded" in content_type or "text/plain" in content_type:
            # Some providers (GitHub without Accept) answer form-encoded.
            pairs = dict(parse_qsl(response.text))
            return pairs if ("access_token" in pairs or "error" in pairs) else None
        return None
    return payload if isinstance(payload, dict) else None


def _seconds(value) -> int | None:
    """A positive lifetime in whole seconds, at most MAX_LIFETIME_SECONDS; None when absent or not a
    positive number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds) or seconds <= 0:
        return None
    return int(min(seconds, MAX_LIFETIME_SECONDS))


def _dig(payload: dict, path: str):
    """Follow a dotted path; returns (value, the dict holding it) or (None, None)."""
    container = payload
    parts = path.split(".")
    for part in parts[:-1]:
        container = container.get(part) if isinstance(container, dict) else None
    if not isinstance(container, dict):
        return None, None
    return container.get(parts[-1]), container


def parse_token_response(*, service, response: requests.Response, scrub=()) -> TokenResponse:
    status = response.status_code
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or "no type"
    payload = _payload(response)
    error = _clean(payload.get("error"), scrub)[:100] if payload and payload.get("error") else ""
    description = _clean(payload.get("error_description"), scrub) if payload else ""

    if error in REJECTING_ERRORS:
        raise RefreshRejected(error, description)
    if status >= 500 or status == 429:
        detail = f" ({error})" if error else ""
        raise TransientTokenError(
            f"The token endpoint answered HTTP {status}{detail}; will retry.",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if payload is None:
        raise MalformedTokenResponse(
            f"The token endpoint answered HTTP {status} with {content_type} instead of a JSON "
            "token response."
        )
    if error:
        if 200 <= status < 300:
            raise MalformedTokenResponse(
                f"The token endpoint answered HTTP {status} but with error '{error}'"
                + (f": {description}" if description else ".")
            )
        raise TokenEndpointError(
            error,
            f"The token endpoint refused the request ({error})"
            + (f": {description}" if description else "."),
        )
    if status >= 300:
        raise MalformedTokenResponse(f"The token endpoint answered HTTP {status}.")

    path = service.token_path or "access_token"
    access_token, container = _dig(payload, path)
    if not isinstance(access_token, str) or not access_token:
        keys = ", ".join(sorted(str(k) for k in payload)[:20]) or "none"
        raise MalformedTokenResponse(
            f"The token response has no access token at '{path}' (fields present: {keys})."
        )

    def pick(name):
        if container is not payload and name in container:
            return container.get(name)
        return payload.get(name)

    expires_in = _seconds(pick("expires_in"))
    if expires_in is None:
        expires_in = _seconds(pick("expires"))
    defaulted = expires_in is None
    if defaulted:
        # Never "never": an unknown lifetime is the service's default, so refresh is attempted.
        expires_in = service.default_token_lifetime or 3600

    refresh_token = pick("refresh_token")
    refresh_token = refresh_token if isinstance(refresh_token, str) and refresh_token else None

    scope = pick("scope")
    scopes = None
    if isinstance(scope, list):
        scopes = [str(s) for s in scope if s]
    elif isinstance(scope, str):
        separator = service.scope_separator or " "
        scopes = [s for s in re.split(rf"[\s,{re.escape(separator)}]+", scope) if s]

    rt_field = ""
    rt_expires_in = None
    for name in ("refresh_token_expires_in", "x_refresh_token_expires_in"):
        rt_expires_in = _seconds(pick(name))
        if rt_expires_in is not None:
            rt_field = name
            break

    parameters = {}
    for response_field, parameter in (service.token_response_parameters or {}).items():
        value = pick(response_field)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "":
            parameters[str(parameter)] = str(value)

    token_type = pick("token_type")
    return TokenResponse(
        access_token=access_token,
        refresh_token=refresh_token,
        token_type=str(token_type)[:40] if isinstance(token_type, str) else "Bearer",
        expires_in=expires_in,
        expires_in_defaulted=defaulted,
        scopes=scopes,
        refresh_token_expires_in=rt_expires_in,
        refresh_token_expires_field=rt_field,
        parameters=parameters,
    )


def token_response_apply(*, authentication, token_response: TokenResponse, now=None) -> bool:
    """Write a token response's credentials onto an authentication (not saved). Returns True when a
    new refresh token came back (rotation, or the first one); the old one is kept when none comes
    back. A declared refresh-token lifetime is the lifecycle's to record (lifecycle/state.py)."""
    now = now or timezone.now()
    auth = authentication
    auth.access_token = token_response.access_token
    auth.token_type = token_response.token_type
    auth.access_token_expires_at = now + timedelta(seconds=token_response.expires_in)
    new_refresh = False
    if token_response.refresh_token:
        old = auth.refresh_token.reveal() if auth.refresh_token else None
        if old != token_response.refresh_token:
            auth.refresh_token = token_response.refresh_token
            auth.refresh_token_issued_at = now
            new_refresh = True
    if token_response.scopes is not None:
        auth.scopes = token_response.scopes
    if token_response.parameters:
        auth.parameters = {**(auth.parameters or {}), **token_response.parameters}
    return new_refresh
