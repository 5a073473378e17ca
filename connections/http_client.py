"""The HTTP client: call a service's API with an authentication.

    result = http_request(authentication=auth, method="GET", path_or_url="/v1/me")
    result.status, result.headers, result.body  # body is bytes, size-capped by infrastructure.egress

- The URL is the service's base URL (placeholders resolved from the auth's parameters) plus the
  path, or an absolute URL on the same host (scheme, host and port must match the base URL).
- Credentials are injected per the service's placement (header name + prefix, query parameter,
  HTTP Basic; OAuth 1.0a requests are signed). Callers never pass tokens, and may not set the
  credential header or query parameter themselves.
- On 401 (or the service's configured "expired" statuses) an OAuth 2.0 authentication is refreshed
  once through auths.refresh.authentication_refresh (the same locked critical section as the Celery
  task) and the request replayed once. If the refresh cannot happen, the original answer is
  returned.
- All traffic goes through infrastructure.egress (timeouts, SSRF guard, same-host redirects only, size cap),
  on a session pooled per thread and egress policy: keep-alive to the API, the address checked on
  every request, no cookies kept from one call to the next.
- The credentials never come back: a response that reflects them (an echo endpoint, an error
  message quoting the request) has them replaced with "[redacted]" in its body and headers.
- last_used_at is recorded (to the minute: at most one write per minute per authentication).
"""

import base64
import json as jsonlib
import logging
import posixpath
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from auths.grants import DEFAULT_PORTS, GrantMoved, grant_problem
from auths.models import Authentication, AuthStatus
from auths.parameters import PLACEHOLDER, ParameterValues, resolve_url
from auths.tokens import client_credentials_of
from infrastructure import egress
from infrastructure.errors import RuleViolation, UpstreamError
from lifecycle import state
from lifecycle.policy import in_cooldown
from lifecycle.refresh import (
    RefreshNotSupported,
    RefreshRejected,
    TransientRefreshError,
    authentication_refresh,
)
from lifecycle.scheduling import can_refresh, last_credential_write
from services.models import AuthScheme, CredentialPlacement

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# A token this close to its expiry counts as expired (clock skew, time in flight): 30 s at most,
# and never more than a tenth of the token's lifetime, or a 20-second token would be "expired"
# the moment it is issued and every call would refresh it.
MAX_EXPIRY_SKEW = timedelta(seconds=30)
EXPIRY_SKEW_FRACTION = 0.1
# last_used_at is written at most once a minute per authentication: exact enough to tell unused
# auths, and a busy auth does not turn every API call into a database write.
LAST_USED_GRANULARITY = timedelta(seconds=60)
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2 token
HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}
REDACTED = "[redacted]"
logger = logging.getLogger(__name__)
MIN_SCRUB_LENGTH = 8  # shorter values would redact ordinary text


@dataclass
class HttpResult:
    status: int
    headers: dict
    body: bytes = field(repr=False)
    # True when the access token was refreshed during this call (before it, or on 401 + replay).
    refreshed: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return jsonlib.loads(self.body)


def _origin_of(parts, what: str) -> tuple:
    try:
        port = parts.port
    except ValueError:
        raise RuleViolation(
            f"The {what} has an invalid port: use a number from 1 to 65535.", field="path_or_url"
        ) from None
    return (parts.scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(parts.scheme))


def _normalized_path(path: str) -> str:
    """The path as a server may read it: percent-decoded (repeatedly: `%252e` is a dot to some
    servers), backslashes as slashes, dot-segments resolved (RFC 3986 §5.2.4)."""
    for _ in range(5):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return posixpath.normpath("/" + path.replace("\\", "/").lstrip("/"))


def _require_within_base_path(path: str, base_path: str) -> None:
    base = _normalized_path(base_path)
    resolved = _normalized_path(path)
    if base != "/" and resolved != base and not resolved.startswith(base + "/"):
        raise RuleViolation(
            f"The path leaves the service's base path ({base_path}) once its dot-segments are "
            f"resolved (it reaches {resolved}); give a path under the base URL.",
            field="path_or_url",
        )


def _caller_placeholders_checked(target: str, values: ParameterValues) -> None:
    """Caller-supplied paths and URLs expand public parameters only: a secret value expanded into
    a path would come back from any endpoint that reflects it."""
    for name in PLACEHOLDER.findall(target):
        if name in values.secret:
            raise RuleViolation(
                f"{{{{{name}}}}} is a secret parameter: a path or URL may use public parameters "
                "only.",
                field="path_or_url",
            )


def _require_base_granted(authentication: Authentication, base: str) -> None:
    """The credentials go only to the API base they were granted for (auths/grants.py)."""
    problem = grant_problem(authentication=authentication, field="base_url", url=base)
    if problem:
        state.grant_moved(authentication=authentication, reason=problem, now=timezone.now())
        raise GrantMoved(problem, field="path_or_url")


def build_url(*, authentication: Authentication, path_or_url: str) -> str:
    """The service's base URL plus the caller's path, or the caller's absolute URL: either way on
    the base URL's origin and under its path."""
    service = authentication.service
    if not service.base_url:
        raise RuleViolation(
            f"{service.name} has no base URL, so the HTTP client cannot call it.",
            field="path_or_url",
        )
    values = ParameterValues.of(authentication)
    base = resolve_url(service.base_url, values.merged(), what="base URL")
    _require_base_granted(authentication, base)
    base_parts = urlsplit(base)
    target = (path_or_url or "").strip()
    _caller_placeholders_checked(target, values)
    absolute = "://" in target.split("?")[0]
    if absolute:
        url = resolve_url(target, values.public, what="URL")
    else:
        path = resolve_url(target, values.public, what="path")
        url = base.rstrip("/") + ("/" + path.lstrip("/") if path else "")
    parts = urlsplit(url)
    if _origin_of(parts, "URL") != _origin_of(base_parts, "base URL"):
        raise RuleViolation(
            f"An absolute URL must be on the service's host ({base_parts.scheme}://"
            f"{base_parts.netloc}); give a path relative to the base URL instead."
            if absolute
            else "The path must stay on the service's host.",
            field="path_or_url",
        )
    if parts.username or parts.password:
        raise RuleViolation("URLs may not carry user information.", field="path_or_url")
    _require_within_base_path(parts.path, base_parts.path)
    return url


def _caller_headers(headers: dict, *, credential_header: str | None) -> dict:
    """The caller's headers with names normalised (surrounding spaces dropped): a name that is not
    an HTTP token, a value with a line break, or the credential header however spelled is
    refused; hop-by-hop headers are the transport's and are dropped."""
    cleaned = {}
    for raw_name, raw_value in headers.items():
        name, value = str(raw_name).strip(), str(raw_value)
        if not HEADER_NAME.fullmatch(name):
            raise RuleViolation(
                f"'{name}' is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only).",
                field="headers",
            )
        if "\r" in value or "\n" in value or "\x00" in value:
            raise RuleViolation(
                f"The value of header {name} contains a line break; send it on one line.",
                field=f"headers.{name}",
            )
        if credential_header and name.lower() == credential_header.lower():
            raise RuleViolation(
                f"The {credential_header} header is set by the platform from the authentication; "
                "remove it from the request.",
                field=f"headers.{name}",
            )
        if name.lower() not in HOP_BY_HOP:
            cleaned[name] = value
    return cleaned


def _refuse_credential_parameter(query_name: str, query: dict, url: str) -> None:
    """The credential query parameter is the platform's, in `query` or written into the path."""
    in_path = [name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    for name in [*query, *in_path]:
        if name.strip().lower() == query_name.lower():
            raise RuleViolation(
                f"The {query_name} query parameter is set by the platform; remove it.",
                field=f"query.{query_name}" if name in query else "path_or_url",
            )


def credential_names(service) -> tuple[str | None, str | None]:
    """(header name, query parameter) the platform sets, for refusing caller overrides: here at
    call time, and in projects.definitions when a workflow step is declared."""
    if service.auth_scheme == AuthScheme.OAUTH1:
        return "Authorization", None
    if service.credential_placement == CredentialPlacement.QUERY:
        return None, service.credential_query_param or "access_token"
    if service.credential_placement == CredentialPlacement.BASIC:
        return "Authorization", None
    return service.credential_header_name or "Authorization", None


@sensitive_variables()
def _inject(authentication: Authentication, revealed: "_Revealed", headers: dict, query: dict):
    """Add the credentials; returns the `auth=` argument for requests (Basic), if any."""
    service = authentication.service
    value = revealed.credential
    placement = service.credential_placement
    if placement == CredentialPlacement.BASIC:
        password = revealed.password
        if authentication.username:
            return (authentication.username, password or value)
        return (value, password)
    if not value:
        raise RuleViolation(
            "This authentication holds no credential to send; re-authenticate it.",
            field="authentication",
        )
    if placement == CredentialPlacement.QUERY:
        query[service.credential_query_param or "access_token"] = value
        return None
    prefix = service.credential_prefix
    headers[service.credential_header_name or "Authorization"] = (
        f"{prefix} {value}" if prefix else value
    )
    return None


@sensitive_variables()
def _credential_strings(authentication: Authentication) -> list[str]:
    """Every form in which a secret of this auth may be reflected back: its tokens, key,
    password and secret parameters, and the service's client secret."""
    sealed_values = (
        authentication.access_token,
        authentication.refresh_token,
        authentication.token_secret,
        authentication.api_key,
        authentication.password,
    )
    values = [sealed.reveal() for sealed in sealed_values if sealed is not None]
    values += [str(v) for v in ParameterValues.of(authentication).secret.values()]
    _, client_secret = client_credentials_of(
        service=authentication.service, values=ParameterValues.of(authentication)
    )
    if client_secret:
        values.append(client_secret)
    forms = set()
    for value in values:
        if len(value) >= MIN_SCRUB_LENGTH:
            forms.update({value, quote(value, safe=""), quote_plus(value)})
    primary = [
        sealed.reveal()
        for sealed in (authentication.access_token, authentication.api_key)
        if sealed is not None
    ]
    if authentication.service.credential_placement == CredentialPlacement.BASIC:
        user = authentication.username or (primary[0] if primary else "")
        password = authentication.password.reveal() if authentication.password else ""
        if not password and authentication.username and primary:
            password = primary[0]
        if user or password:
            forms.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    return sorted(forms, key=len, reverse=True)


@dataclass(frozen=True)
class _Revealed:
    """An authentication's secrets as one call uses them: the credential it sends (access token
    or API key), the Basic password, and every form to scrub from answers."""

    credential: str = field(repr=False)
    password: str = field(repr=False)
    forms: tuple[str, ...] = field(repr=False)


# Revealed secrets per process, for the last REVEALED_KEPT authentications used: building them
# decrypts up to seven secrets, which cost more than a whole call to a fast API. The key holds
# everything they derive from, secrets as their ciphertexts (a new token is a new ciphertext), so
# a changed secret is never missed. Kept in this map only, never on the model instance (a pickled
# instance would carry it).
REVEALED_KEPT = 128
_revealed_cache: OrderedDict[tuple, _Revealed] = OrderedDict()
_revealed_lock = threading.Lock()


def _revealed_key(authentication: Authentication) -> tuple:
    service = authentication.service
    sources = (
        authentication.access_token,
        authentication.refresh_token,
        authentication.token_secret,
        authentication.api_key,
        authentication.password,
        authentication.secret_parameters,
        service.client_secret,
        authentication.username,
        service.auth_scheme,
        service.credential_placement,
        service.client_id,
    )
    return (
        *(getattr(value, "ciphertext", value) for value in sources),
        repr(authentication.parameters),
    )


@sensitive_variables()
def _reveal(authentication: Authentication) -> _Revealed:
    if authentication.service.auth_scheme == AuthScheme.OAUTH2:
        secret = authentication.access_token
    else:
        secret = authentication.api_key
    return _Revealed(
        credential=secret.reveal() if secret is not None else "",
        password=authentication.password.reveal() if authentication.password else "",
        forms=tuple(_credential_strings(authentication)),
    )


@sensitive_variables()
def _revealed(authentication: Authentication) -> _Revealed:
    key = _revealed_key(authentication)
    with _revealed_lock:
        revealed = _revealed_cache.get(key)
        if revealed is not None:
            _revealed_cache.move_to_end(key)
            return revealed
    revealed = _reveal(authentication)
    with _revealed_lock:
        _revealed_cache[key] = revealed
        while len(_revealed_cache) > REVEALED_KEPT:
            _revealed_cache.popitem(last=False)
    return revealed


def _redacted(text: str, secrets) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


@sensitive_variables()
def _scrub(result: "HttpResult", secrets) -> "HttpResult":
    body = result.body
    for secret in secrets:
        body = body.replace(secret.encode(), REDACTED.encode())
    result.body = body
    result.headers = {name: _redacted(value, secrets) for name, value in result.headers.items()}
    return result


@sensitive_variables()
def _session_and_auth(authentication: Authentication, basic):
    """The pooled guarded session for the organization's egress policy (per thread: keep-alive to
    the API, the address checked on every request, no cookies kept; see
    egress.pooled_http_session) and the `auth=` for this request: HTTP Basic, the OAuth 1.0a
    signer, or None when the credentials are in a header or the query."""
    policy = egress.EgressPolicy.for_organization(authentication.organization)
    service = authentication.service
    oauth1 = service.auth_scheme == AuthScheme.OAUTH1
    session = egress.pooled_http_session(
        policy=policy,
        # OAuth 1.0a signs one URL: a redirect would replay the signature (and its nonce).
        follow_redirects=not oauth1,
        total=settings.HTTP_CLIENT_DEADLINE_SECONDS,
    )
    if not oauth1:
        return session, basic
    values = ParameterValues.of(authentication)
    client_key, client_secret = client_credentials_of(service=service, values=values)
    secret = authentication.token_secret
    return session, egress.oauth1_signer(
        client_key=client_key,
        client_secret=client_secret,
        resource_owner_key=authentication.access_token.reveal(),
        resource_owner_secret=secret.reveal() if secret is not None else None,
    )


@sensitive_variables()
def _send(authentication, *, method, url, query, headers, json, data, body) -> HttpResult:
    headers = dict(headers)
    query = dict(query)
    basic = None
    revealed = _revealed(authentication)
    if authentication.service.auth_scheme != AuthScheme.OAUTH1:
        basic = _inject(authentication, revealed, headers, query)
    session, auth = _session_and_auth(authentication, basic)
    try:
        response = session.request(
            method,
            url,
            params=query or None,
            headers=headers,
            json=json,
            data=data if data is not None else body,
            auth=auth,
        )
    except egress.EgressRefused as error:
        raise RuleViolation(f"The request was refused: {error}", field="path_or_url") from None
    except egress.ResponseTooLarge as error:
        raise UpstreamError(str(error)) from None
    except requests.Timeout:
        raise UpstreamError("The service did not answer in time.") from None
    except requests.RequestException as error:
        raise UpstreamError(f"The service could not be reached ({type(error).__name__}).") from None
    result = HttpResult(
        status=response.status_code, headers=dict(response.headers), body=response.content
    )
    secrets = revealed.forms
    parts = urlsplit(url)  # logged without the query string, which may carry credentials
    logger.debug(
        "HTTP client %s %s://%s%s -> %s (authentication %s)",
        method,
        parts.scheme,
        parts.netloc,
        _redacted(parts.path, secrets),  # a secret parameter may sit in the base URL's path
        result.status,
        authentication.pk,
    )
    return _scrub(result, secrets)


def expiry_skew(authentication: Authentication) -> timedelta:
    lifetime = authentication.access_token_expires_at - last_credential_write(authentication)
    return min(MAX_EXPIRY_SKEW, max(lifetime, timedelta(0)) * EXPIRY_SKEW_FRACTION)


def access_token_expired(authentication: Authentication, now) -> bool:
    expires_at = authentication.access_token_expires_at
    return expires_at is not None and expires_at - expiry_skew(authentication) <= now


@sensitive_variables()
def http_request(
    *,
    authentication: Authentication,
    method: str,
    path_or_url: str,
    query: dict | None = None,
    headers: dict | None = None,
    json=None,
    data: dict | None = None,
    body: bytes | str | None = None,
) -> HttpResult:
    """Make one API request with the authentication's credentials (see the module docstring).
    Access checks are the caller's (the API view resolves the auth through a scoped selector)."""
    method = (method or "GET").upper()
    if method not in METHODS:
        raise RuleViolation(f"method must be one of {', '.join(METHODS)}.", field="method")
    if sum(x is not None for x in (json, data, body)) > 1:
        raise RuleViolation("Send one of json, data (form) or body.", field="body")
    if authentication.status == AuthStatus.DISABLED:
        raise RuleViolation("This authentication is disabled.", field="authentication")
    service = authentication.service
    header_name, query_name = credential_names(service)
    headers = _caller_headers(headers or {}, credential_header=header_name)
    query = {str(k): v for k, v in (query or {}).items()}
    url = build_url(authentication=authentication, path_or_url=path_or_url)
    if query_name:
        _refuse_credential_parameter(query_name, query, url)
    request = {"method": method, "url": url, "query": query, "headers": headers}
    request.update(json=json, data=data, body=body)

    now = timezone.now()
    # One deadline for the whole call: a refresh, the request and its replay share it.
    with egress.deadline(settings.HTTP_CLIENT_DEADLINE_SECONDS):
        refreshed_first = False
        if can_refresh(authentication) and access_token_expired(authentication, now):
            # Known expired: refresh first. A caller that waited for the lock while another
            # refreshed gets the token just written (its version moved), without a token request.
            fresh = _refresh(authentication, force=True)
            if fresh is not None:
                authentication, refreshed_first = fresh, True
        result = _send(authentication, **request)
        result.refreshed = refreshed_first
        expired = result.status in service.effective_expired_status_codes
        if expired and not refreshed_first and can_refresh(authentication):
            refreshed = _refresh(authentication, force=True)
            if refreshed is not None:
                result = _send(refreshed, **request)
                result.refreshed = True
                authentication = refreshed
    last_used = authentication.last_used_at
    if last_used is None or now - last_used >= LAST_USED_GRANULARITY:
        Authentication.objects.filter(pk=authentication.pk).update(last_used_at=now)
        authentication.last_used_at = now
    return result


def _refresh(authentication: Authentication, *, force: bool) -> Authentication | None:
    """Refresh once; None when it could not happen (the caller then keeps the original answer)."""
    if in_cooldown(authentication, timezone.now()):
        # A refresh failed moments ago: during a provider outage every 401 would otherwise reach
        # the token endpoint again (the storm the cooldown exists to prevent).
        return None
    try:
        fresh = authentication_refresh(
            authentication_id=authentication.pk, force=force, seen_version=authentication.version
        )
    except (RefreshRejected, TransientRefreshError, RefreshNotSupported):
        return None
    if fresh.version == authentication.version:
        return None
    return fresh
