"""Views of the test authorization server.

- ``/o/...``: django-oauth-toolkit's own views. The token, revoke, introspect
  and authorize views are wrapped to count requests, and the token view to
  inject faults.
- ``/accounts/login/``: a plain username/password login page (DOT's
  authorize view redirects anonymous users here).
- ``/control/...``: a JSON API that tests use to set the server up and read
  what happened. No authentication; loopback clients only.
- ``/api/...``: resource endpoints (bearer-protected echo, public, large
  body, redirect, arbitrary status).
"""

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from datetime import timedelta
from urllib.parse import urlparse

from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest

from tests.oauth_server.state import FAULT_MODES, STATE

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()
User = get_user_model()

GRANT_TYPES = {
    "authorization-code": Application.GRANT_AUTHORIZATION_CODE,
    "authorization_code": Application.GRANT_AUTHORIZATION_CODE,
    "client-credentials": Application.GRANT_CLIENT_CREDENTIALS,
    "client_credentials": Application.GRANT_CLIENT_CREDENTIALS,
    "password": Application.GRANT_PASSWORD,
}


class TestServerValidator(OAuth2Validator):
    """DOT's validator plus a runtime refresh-token lifetime.

    ``refresh_token_seconds`` counts from the refresh token's issuance, which
    is what ``refresh_token_expires_in`` promises a client. (DOT's own
    REFRESH_TOKEN_EXPIRE_SECONDS counts from the paired access token's
    expiry instead, so it is left unset.)
    """

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        lifetime = STATE.get_setting("refresh_token_seconds")
        if valid and lifetime is not None:
            created = request.refresh_token_instance.created
            if created + timedelta(seconds=lifetime) <= timezone.now():
                return False
        return valid


# --------------------------------------------------------------------------
# helpers


def _request_headers(request):
    """All request headers, with their usual spelling (``Content-Type``)."""
    headers = {}
    for key, value in request.META.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH") and not value:
            continue
        headers["-".join(part.capitalize() for part in name.split("_"))] = value
    return headers


def _form_dict(querydict):
    """A QueryDict as a dict; repeated keys keep all values in a list."""
    return {key: values[0] if len(values) == 1 else values for key, values in querydict.lists()}


def _client_auth_method(request):
    """How the client authenticated on the token endpoint."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("basic "):
        return "basic"
    if "client_secret" in request.POST:
        return "body"
    return "none"


def _json_body(request):
    if not request.body:
        return {}
    payload = json.loads(request.body)
    if not isinstance(payload, dict):
        raise ValueError("the JSON body must be an object")
    return payload


def control(*methods):
    """Decorate a control-API view: loopback only, JSON in and out.

    The view is called as ``view(request, payload)`` where ``payload`` is the
    parsed JSON body (``{}`` when empty). ``ValueError``/``KeyError`` become a
    400 JSON error.
    """

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.META.get("REMOTE_ADDR") not in ("127.0.0.1", "::1"):
                return JsonResponse({"error": "control API is loopback-only"}, status=403)
            if request.method not in methods:
                return JsonResponse({"error": f"method {request.method} not allowed"}, status=405)
            try:
                payload = _json_body(request)
                return view(request, payload, *args, **kwargs)
            except (ValueError, KeyError, TypeError) as exc:
                return JsonResponse({"error": f"{type(exc).__name__}: {exc}"}, status=400)

        return wrapper

    return decorator


# --------------------------------------------------------------------------
# OAuth endpoints (DOT, wrapped)

# Token and revocation requests are processed one at a time (they are
# counted before, so concurrent arrivals are still seen). DOT's rotation is
# not race-free: concurrent refreshes of one token can both succeed, or fail
# with a 500 when one deletes the access token the other is reading. One at a
# time, the outcome is deterministic: the first refresh wins and every later
# use of the same token is a reuse that revokes the family.
TOKEN_LOCK = threading.Lock()

_dot_token_view = dot_views.TokenView.as_view()
_dot_revoke_view = dot_views.RevokeTokenView.as_view()
_dot_introspect_view = dot_views.IntrospectTokenView.as_view()
_dot_authorize_view = dot_views.AuthorizationView.as_view()


def authorize(request, *args, **kwargs):
    STATE.incr("authorize_requests")
    return _dot_authorize_view(request, *args, **kwargs)


@csrf_exempt
def revoke_token(request, *args, **kwargs):
    STATE.incr("revoke_requests")
    with STATE.lock:
        STATE.last_revoke_request = {
            "method": request.method,
            "form": _form_dict(request.POST),
            "headers": _request_headers(request),
            "client_auth": _client_auth_method(request),
        }
    with TOKEN_LOCK:
        return _dot_revoke_view(request, *args, **kwargs)


@csrf_exempt
def introspect(request, *args, **kwargs):
    STATE.incr("introspect_requests")
    return _dot_introspect_view(request, *args, **kwargs)


def _json_response(data, status=200, headers=None):
    response = HttpResponse(json.dumps(data), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# Error codes used in the JSON body of ``status:<code>`` faults.
_STATUS_FAULT_ERRORS = {429: "slow_down", 503: "temporarily_unavailable"}


def _fault_response(kind, arg, fault):
    """The response that replaces DOT's for a replacing fault mode."""
    description = f"injected fault: {fault['mode']}"
    if kind == "status":
        code = int(arg)
        error = _STATUS_FAULT_ERRORS.get(code, "server_error" if code >= 500 else "invalid_request")
        headers = {}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        return _json_response({"error": error, "error_description": description}, code, headers)
    if kind == "html":
        page = (
            "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
            "<body><h1>We'll be right back</h1></body></html>"
        )
        return HttpResponse(page, status=int(arg or 200), content_type="text/html; charset=utf-8")
    if kind == "error_200":
        return _json_response({"error": "server_error", "error_description": description})
    if kind == "no_access_token":
        seconds = STATE.get_setting("access_token_seconds")
        return _json_response(
            {"token_type": "Bearer", "expires_in": seconds, "scope": "read write"}
        )
    if kind == "invalid_grant":
        return _json_response({"error": "invalid_grant", "error_description": description}, 400)
    raise AssertionError(f"not a replacing fault: {kind}")


def _edit_json(response, edit):
    """Apply ``edit(dict)`` to a successful JSON token response, in place."""
    if response.status_code != 200:
        return response
    try:
        data = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(data, dict) or "access_token" not in data:
        return response
    edit(data)
    response.content = json.dumps(data).encode()
    return response


@csrf_exempt
def token(request, *args, **kwargs):
    """DOT's token endpoint, counted, with optional fault injection."""
    body = request.body.decode("utf-8", "replace")  # read before DOT parses POST
    grant_type = request.POST.get("grant_type", "")
    entry = {
        "method": request.method,
        "path": request.get_full_path(),
        "grant_type": grant_type,
        "body": body,
        "form": _form_dict(request.POST),
        "headers": _request_headers(request),
        "client_auth": _client_auth_method(request),
        "time": time.time(),
    }
    STATE.record_token_request(entry)

    fault = STATE.take_fault(grant_type)
    try:
        response, real = _token_response(request, fault, *args, **kwargs)
    except Exception:
        # Django turns the exception into a 500; count it as answered.
        STATE.record_token_response(entry, 500, fault is not None, False)
        raise
    refused_refresh = (
        real is not None and grant_type == "refresh_token" and 400 <= real.status_code < 500
    )
    STATE.record_token_response(entry, response.status_code, fault is not None, refused_refresh)
    return response


def _token_response(request, fault, *args, **kwargs):
    """Returns (response to send, DOT's response or None if DOT was not called)."""
    kind, _, arg = fault["mode"].partition(":") if fault else ("", "", "")
    passthrough = kind in ("", "slow", "no_expires_in", "no_refresh_token", "expires_in")

    real = None
    if kind == "slow":
        time.sleep(float(arg))  # outside the lock: slow requests overlap
    if passthrough or fault["process"]:
        with TOKEN_LOCK:
            real = _dot_token_view(request, *args, **kwargs)

    if passthrough:
        response = real
        if kind == "no_expires_in":
            _edit_json(response, lambda data: data.pop("expires_in", None))
        elif kind == "no_refresh_token":
            _edit_json(response, lambda data: data.pop("refresh_token", None))
        elif kind == "expires_in":
            _replace_expires_in(response, arg)
        _add_refresh_token_expires_in(response)
    else:
        # The fault replaces the answer. With "process": true DOT handled the
        # request first (a code or refresh token is consumed) and its answer
        # is lost, as when a response is dropped on the way back.
        response = _fault_response(kind, arg, fault)
        response["X-Oauth-Test-Fault"] = fault["mode"]
    return response, real


def _replace_expires_in(response, raw):
    """Put `raw` verbatim as the value of expires_in (1e400 is valid JSON, and no float)."""
    _edit_json(response, lambda data: data.__setitem__("expires_in", "__RAW__"))
    response.content = response.content.replace(b'"__RAW__"', raw.encode())


def _add_refresh_token_expires_in(response):
    settings = STATE.settings_snapshot()
    lifetime = settings["refresh_token_seconds"]
    if not settings["include_refresh_token_expires_in"] or lifetime is None:
        return

    def edit(data):
        if "refresh_token" in data:
            data["refresh_token_expires_in"] = lifetime

    _edit_json(response, edit)


# --------------------------------------------------------------------------
# login page for the resource owner

_LOGIN_PAGE = """<!DOCTYPE html>
<html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>{error}
<form method="post" action="/accounts/login/">
<input type="hidden" name="next" value="{next}">
<label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form></body></html>
"""


def _safe_next(next_url):
    # Only local paths: never an open redirect, even in a test double.
    parsed = urlparse(next_url or "")
    if parsed.scheme or parsed.netloc or not (next_url or "").startswith("/"):
        return "/"
    return next_url


@csrf_exempt
def login_view(request):
    """GET shows the form; POST username/password logs in and goes to next."""
    if request.method == "POST":
        next_url = _safe_next(request.POST.get("next") or request.GET.get("next"))
        user = authenticate(
            request,
            username=request.POST.get("username", ""),
            password=request.POST.get("password", ""),
        )
        if user is not None:
            login(request, user)
            response = HttpResponse(status=302)
            response["Location"] = next_url
            return response
        page = _LOGIN_PAGE.format(error="<p>Invalid credentials</p>", next=escape(next_url))
        return HttpResponse(page, status=401)
    next_url = _safe_next(request.GET.get("next"))
    return HttpResponse(_LOGIN_PAGE.format(error="", next=escape(next_url)))


# --------------------------------------------------------------------------
# control API


@control("GET")
def control_health(request, payload):
    # The pid lets the fixture check that it reached its own subprocess.
    return JsonResponse({"ok": True, "pid": os.getpid()})


@control("POST")
def control_create_user(request, payload):
    """{"username", "password", "email"?}: create the user, or reset its password."""
    username = payload["username"]
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": payload.get("email", "")}
    )
    user.set_password(payload["password"])
    user.save()
    return JsonResponse({"id": user.pk, "username": user.username, "created": created})


@control("POST")
def control_create_application(request, payload):
    """Register an OAuth client. Returns its id, client_id and plain secret.

    Body: {"grant_type": "authorization-code" | "client-credentials" |
    "password", "redirect_uris": [...] or "a b", "client_id"?,
    "client_secret"?, "client_type": "confidential" | "public",
    "skip_authorization": true, "name"?, "user"? (owner username)}.
    """
    grant_type = GRANT_TYPES[payload.get("grant_type", "authorization-code")]
    client_type = payload.get("client_type", Application.CLIENT_CONFIDENTIAL)
    if client_type not in (Application.CLIENT_CONFIDENTIAL, Application.CLIENT_PUBLIC):
        raise ValueError(f"unknown client_type {client_type!r}")
    redirect_uris = payload.get("redirect_uris", [])
    if isinstance(redirect_uris, str):
        redirect_uris = redirect_uris.split()
    if grant_type == Application.GRANT_AUTHORIZATION_CODE and not redirect_uris:
        raise ValueError("an authorization-code application needs redirect_uris")
    client_id = payload.get("client_id") or secrets.token_urlsafe(24)
    client_secret = ""
    if client_type == Application.CLIENT_CONFIDENTIAL:
        client_secret = payload.get("client_secret") or secrets.token_urlsafe(32)
    owner = None
    if payload.get("user"):
        owner = User.objects.get(username=payload["user"])
    app = Application.objects.create(
        name=payload.get("name", client_id),
        client_id=client_id,
        client_secret=client_secret,  # hashed on save, as in production DOT
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=" ".join(redirect_uris),
        skip_authorization=payload.get("skip_authorization", True),
        user=owner,
        algorithm="",
    )
    return JsonResponse(
        {
            "id": app.pk,
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": grant_type,
            "client_type": client_type,
            "redirect_uris": redirect_uris,
            "skip_authorization": app.skip_authorization,
        }
    )


def _apply_dot_settings(settings):
    # DOT reads these through the oauth2_settings object on every authorization
    # response, so setting the attributes changes behaviour at runtime.
    oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS = bool(settings["include_iss"])
    oauth2_settings.OIDC_ISS_ENDPOINT = settings["issuer"] or ""
    oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS = int(
        settings["refresh_token_grace_seconds"]
    )
    oauth2_settings.ROTATE_REFRESH_TOKEN = bool(settings["rotate_refresh_tokens"])


def _validate_settings(payload):
    unknown = set(payload) - set(STATE.settings)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    for name in ("access_token_seconds", "refresh_token_seconds"):
        value = payload.get(name)
        if name in payload and value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or null")
    if payload.get("access_token_seconds", 1) is None:
        raise ValueError("access_token_seconds cannot be null")


@control("GET", "POST")
def control_settings(request, payload):
    """GET: the runtime settings. POST: update some of them (see state.DEFAULT_SETTINGS)."""
    if request.method == "POST":
        _validate_settings(payload)
        settings = STATE.update_settings(payload)
        _apply_dot_settings(settings)
    return JsonResponse(STATE.settings_snapshot())


@control("GET", "POST", "DELETE")
def control_faults(request, payload):
    """Set ({"mode", "count"?, "retry_after"?, "grant_type"?, "process"?}), read or clear the fault.

    ``count`` null/absent: until cleared. ``grant_type``: only token requests
    with that grant_type are faulted (others pass and do not use up the
    count). ``process``: let DOT handle the request before replacing its
    answer (only for the replacing modes).
    """
    if request.method == "DELETE" or (request.method == "POST" and payload.get("mode") is None):
        STATE.set_fault(None)
    elif request.method == "POST":
        mode = payload["mode"]
        kind, _, arg = mode.partition(":")
        if kind not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; known: {FAULT_MODES}")
        if kind == "slow":
            float(arg)
        if kind == "status" and not 100 <= int(arg) <= 599:
            raise ValueError("status:<code> needs a code in 100..599")
        if kind == "html" and arg:
            int(arg)
        count = payload.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or null")
        STATE.set_fault(
            {
                "mode": mode,
                "remaining": count,
                "retry_after": payload.get("retry_after"),
                "grant_type": payload.get("grant_type"),
                "process": bool(payload.get("process", False)),
            }
        )
    return JsonResponse({"fault": STATE.fault_snapshot()})


@control("GET")
def control_counters(request, payload):
    return JsonResponse(STATE.counters_snapshot())


@control("GET")
def control_last_token_request(request, payload):
    log = STATE.token_log_snapshot()
    return JsonResponse({"request": log[-1] if log else None})


@control("GET")
def control_token_requests(request, payload):
    return JsonResponse({"requests": STATE.token_log_snapshot()})


@control("GET")
def control_last_revoke_request(request, payload):
    with STATE.lock:
        return JsonResponse({"request": STATE.last_revoke_request})


@control("POST")
def control_reset(request, payload):
    """Clear counters, faults and runtime settings. {"flush": true} also
    deletes every user, application, grant and token."""
    STATE.reset()
    _apply_dot_settings(STATE.settings_snapshot())
    if payload.get("flush"):
        RefreshToken.objects.all().delete()
        AccessToken.objects.all().delete()
        Grant.objects.all().delete()
        Application.objects.all().delete()
        User.objects.all().delete()
    return JsonResponse({"ok": True})


def _checksum(raw_token):
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


@control("POST")
def control_expire_access_tokens(request, payload):
    """Make live access tokens expired ({"token"?: only that one})."""
    now = timezone.now()
    tokens = AccessToken.objects.filter(expires__gt=now)
    if payload.get("token"):
        tokens = tokens.filter(token_checksum=_checksum(payload["token"]))
    return JsonResponse({"expired": tokens.update(expires=now - timedelta(seconds=1))})


@control("POST")
def control_revoke_refresh_tokens(request, payload):
    """Revoke live refresh tokens ({"token"?: only that one}); access tokens stay valid."""
    tokens = RefreshToken.objects.filter(revoked__isnull=True)
    if payload.get("token"):
        tokens = tokens.filter(token_checksum=_checksum(payload["token"]))
    return JsonResponse({"revoked": tokens.update(revoked=timezone.now())})


@control("GET", "POST")
def control_tokens(request, payload):
    """Token counts; POST {"access_token"?, "refresh_token"?} also says
    whether those exact tokens are still usable."""
    now = timezone.now()
    result = {
        "access_tokens": {
            "total": AccessToken.objects.count(),
            "active": AccessToken.objects.filter(expires__gt=now).count(),
        },
        "refresh_tokens": {
            "total": RefreshToken.objects.count(),
            "active": RefreshToken.objects.filter(revoked__isnull=True).count(),
        },
    }
    if payload.get("access_token"):
        token = AccessToken.objects.filter(
            token_checksum=_checksum(payload["access_token"])
        ).first()
        result["access_token_active"] = bool(token and not token.is_expired())
    if payload.get("refresh_token"):
        token = RefreshToken.objects.filter(
            token_checksum=_checksum(payload["refresh_token"]), revoked__isnull=True
        ).first()
        result["refresh_token_active"] = token is not None
    return JsonResponse(result)


# --------------------------------------------------------------------------
# resource endpoints


def _unauthorized(error=None, description=None, scheme="Bearer"):
    challenge = f'{scheme} realm="oauth-test-server"'
    body = {"error": error or "unauthorized"}
    if error:
        challenge += f', error="{error}"'
    if description:
        challenge += f', error_description="{description}"'
        body["error_description"] = description
    response = JsonResponse(body, status=401)
    response["WWW-Authenticate"] = challenge
    return response


def _check_bearer(request, raw_token, source):
    """Validate an access token with DOT's own validator.

    Returns (credential dict, None) or (None, 401 response).
    """
    oauthlib_request = OauthlibRequest(request.build_absolute_uri())
    if not TestServerValidator().validate_bearer_token(raw_token, [], oauthlib_request):
        return None, _unauthorized("invalid_token", "The access token is invalid or expired")
    access_token = oauthlib_request.access_token
    return {
        "type": source,
        "username": access_token.user.username if access_token.user else None,
        "client_id": access_token.application.client_id if access_token.application else None,
        "scope": access_token.scope,
    }, None


def _authenticate_api_request(request):
    """Returns (credential dict, None) or (None, 401 response)."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return _check_bearer(request, value.strip(), "bearer")
        if scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, _unauthorized(
                    "invalid_request", "Malformed Basic credentials", "Basic"
                )
            user = authenticate(request, username=username, password=password)
            if user is None:
                return None, _unauthorized(
                    "invalid_credentials", "Bad username or password", "Basic"
                )
            return {
                "type": "basic",
                "username": user.username,
                "client_id": None,
                "scope": None,
            }, None
        return None, _unauthorized("invalid_request", f"Unsupported scheme {scheme!r}")
    if "access_token" in request.GET:
        return _check_bearer(request, request.GET["access_token"], "query")
    settings = STATE.settings_snapshot()
    header_key = "HTTP_" + settings["api_key_header"].upper().replace("-", "_")
    if settings["api_key"] and header_key in request.META:
        if hmac.compare_digest(request.META[header_key].encode(), settings["api_key"].encode()):
            return {"type": "api_key", "username": None, "client_id": None, "scope": None}, None
        return None, _unauthorized("invalid_api_key", "The API key is not valid")
    return None, _unauthorized()


@csrf_exempt
def api_echo(request, subpath=""):
    """Echo the request back once a credential is accepted (any method)."""
    STATE.incr("api_requests")
    credential, error_response = _authenticate_api_request(request)
    if error_response is not None:
        STATE.incr("api_unauthorized")
        return error_response
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "query": {key: values for key, values in request.GET.lists()},
            "headers": _request_headers(request),
            "body": request.body.decode("utf-8", "replace"),
            "auth": credential,
        }
    )


@csrf_exempt
def api_public(request):
    return JsonResponse({"ok": True, "method": request.method, "path": request.path})


def api_large(request):
    """``?bytes=N`` bytes of ``a``; ``&no_length=1`` omits Content-Length."""
    size = int(request.GET.get("bytes", "0"))
    chunk = b"a" * 65536

    def body():
        remaining = size
        while remaining > 0:
            part = chunk[: min(remaining, len(chunk))]
            remaining -= len(part)
            yield part

    response = StreamingHttpResponse(body(), content_type="application/octet-stream")
    if request.GET.get("no_length") in (None, "", "0"):
        response["Content-Length"] = str(size)
    return response


def api_redirect(request):
    """``?to=URL[&status=302]``: redirect anywhere (no scheme filtering on purpose)."""
    if "to" not in request.GET:
        return JsonResponse({"error": "missing ?to="}, status=400)
    response = HttpResponse(status=int(request.GET.get("status", "302")))
    response["Location"] = request.GET["to"]
    return response


@csrf_exempt
def api_status(request, code):
    """Answer with status ``code`` (``?retry_after=N`` adds Retry-After)."""
    response = JsonResponse({"status": code}, status=code)
    if request.GET.get("retry_after"):
        response["Retry-After"] = request.GET["retry_after"]
    return response
