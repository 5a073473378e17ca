"""The ``oauth_server`` pytest fixture and the ``OAuthServer`` client.

Use it from any test module or conftest::

    from tests.oauth_server.fixture import oauth_server  # noqa: F401

or from the root conftest::

    pytest_plugins = ["tests.oauth_server.fixture"]

The fixture is session-scoped: one server process (and one SQLite file) per
test session. State persists between tests; call ``oauth_server.reset()``
to clear counters, faults and runtime settings (``reset(flush=True)`` also
deletes users, applications and tokens).

Only ``requests`` is used to talk to the server.
"""

import base64
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60  # seconds; migrations of a fresh SQLite file take ~1-3 s
_UNSET = object()


class OAuthServerError(RuntimeError):
    pass


def pkce_pair():
    """A fresh (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


class _ConsentFormParser(HTMLParser):
    """Collects the hidden inputs of DOT's consent form (id=authorizationForm)."""

    def __init__(self):
        super().__init__()
        self.in_form = False
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "authorizationForm":
            self.in_form = True
        elif (
            tag == "input" and self.in_form and attrs.get("type") == "hidden" and attrs.get("name")
        ):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


class OAuthServer:
    """Client for a running test authorization server."""

    LOGIN_PATH = "/accounts/login/"
    AUTHORIZE_PATH = "/o/authorize/"

    def __init__(self, base_url, process=None, log_path=None):
        self.base_url = base_url.rstrip("/")
        self.process = process
        self.log_path = log_path
        # The issuer in the server's RFC 8414 metadata and, by default, the
        # RFC 9207 ``iss`` authorization-response parameter.
        self.issuer = self.base_url + "/o"
        self.authorize_url = self.base_url + self.AUTHORIZE_PATH
        self.token_url = self.base_url + "/o/token/"
        self.revoke_url = self.base_url + "/o/revoke_token/"
        self.introspect_url = self.base_url + "/o/introspect/"
        self.metadata_url = self.base_url + "/o/.well-known/oauth-authorization-server"
        self.login_url = self.base_url + self.LOGIN_PATH
        self.echo_url = self.base_url + "/api/echo"
        self.public_url = self.base_url + "/api/public"
        self.large_url = self.base_url + "/api/large"
        self.redirect_url = self.base_url + "/api/redirect"

    def __repr__(self):
        return f"OAuthServer({self.base_url!r})"

    # -- lifecycle ------------------------------------------------------------

    @classmethod
    def start(cls, workdir, timeout=STARTUP_TIMEOUT):
        """Start a server subprocess with its database in ``workdir``.

        Picks a free port (retrying if another process takes it first) and
        polls the health endpoint until the server answers or the deadline
        passes. Raises OAuthServerError with the server's output on failure.
        """
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "tests.oauth_server.settings"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        output = ""
        for _attempt in range(3):
            port = _free_port()
            log_path = workdir / f"server-{port}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.oauth_server.serve",
                        "--port",
                        str(port),
                        "--db",
                        str(workdir / f"oauth-{port}.sqlite3"),
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            server = cls(f"http://127.0.0.1:{port}", process, log_path)
            if server._wait_ready(timeout):
                return server
            server.stop()
            output = server.output()
            if "Address already in use" not in output:
                break
        raise OAuthServerError(f"the OAuth test server did not start; its output:\n{output}")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                response = requests.get(self.base_url + "/control/health", timeout=2)
                if response.ok and response.json().get("pid") == self.process.pid:
                    return True
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            try:
                # Poll interval; returns early if the process dies.
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        return False

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self):
        """What the server process printed so far (errors land here)."""
        if self.log_path is None or not Path(self.log_path).exists():
            return ""
        return Path(self.log_path).read_text(errors="replace")

    # -- control API ----------------------------------------------------------

    def _control(self, method, name, payload=None):
        response = requests.request(
            method, f"{self.base_url}/control/{name}", json=payload, timeout=30
        )
        if response.status_code >= 400:
            raise OAuthServerError(
                f"{method} /control/{name} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def health(self):
        return self._control("GET", "health")

    def create_user(self, username="alice", password=None, email=""):
        """Create (or reset the password of) a resource owner.

        Returns {"id", "username", "password", "created"}.
        """
        password = password or secrets.token_urlsafe(12)
        result = self._control(
            "POST", "users", {"username": username, "password": password, "email": email}
        )
        result["password"] = password
        return result

    def create_application(
        self,
        grant_type="authorization-code",
        redirect_uris=(),
        client_id=None,
        client_secret=None,
        client_type="confidential",
        skip_authorization=True,
        name=None,
        user=None,
    ):
        """Register a client. ``grant_type``: "authorization-code",
        "client-credentials" or "password" (authorization-code and password
        clients can also use refresh_token).

        Returns {"id", "client_id", "client_secret" (plain), "grant_type",
        "client_type", "redirect_uris", "skip_authorization"}.
        """
        if isinstance(redirect_uris, str):
            redirect_uris = [redirect_uris]
        payload = {
            "grant_type": grant_type,
            "redirect_uris": list(redirect_uris),
            "client_type": client_type,
            "skip_authorization": skip_authorization,
        }
        for key, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("name", name),
            ("user", user),
        ):
            if value is not None:
                payload[key] = value
        return self._control("POST", "applications", payload)

    def settings(self):
        return self._control("GET", "settings")

    def update_settings(self, **values):
        """Set runtime settings (see state.DEFAULT_SETTINGS); returns them all."""
        return self._control("POST", "settings", values)

    def set_lifetimes(
        self,
        access_token_seconds=_UNSET,
        refresh_token_seconds=_UNSET,
        include_refresh_token_expires_in=_UNSET,
    ):
        """Lifetimes of tokens issued from now on.

        ``refresh_token_seconds`` counts from issuance; ``None`` means no
        expiry. ``include_refresh_token_expires_in`` adds that value as
        ``refresh_token_expires_in`` to token responses.
        """
        values = {
            "access_token_seconds": access_token_seconds,
            "refresh_token_seconds": refresh_token_seconds,
            "include_refresh_token_expires_in": include_refresh_token_expires_in,
        }
        return self.update_settings(**{k: v for k, v in values.items() if v is not _UNSET})

    def set_issuer(self, include=True, issuer=None):
        """RFC 9207: add ``iss`` to authorization responses. ``issuer``
        overrides the value (e.g. a wrong one for mix-up tests); None means
        ``self.issuer``. Also changes the issuer in the metadata document."""
        return self.update_settings(include_iss=include, issuer=issuer)

    def set_api_key(self, key, header="X-Api-Key"):
        """Make /api/echo accept ``header: key``; ``key=None`` disables it."""
        return self.update_settings(api_key=key, api_key_header=header)

    def set_fault(self, mode, count=None, retry_after=None, grant_type=None, process=False):
        """Make the token endpoint misbehave.

        ``mode``: ``slow:<seconds>``, ``status:<code>``, ``html`` (or
        ``html:<code>``), ``error_200``, ``no_access_token``,
        ``no_expires_in``, ``no_refresh_token``, ``invalid_grant``.
        ``count``: how many token requests it applies to (None: until
        cleared). ``retry_after``: Retry-After header for ``status:``.
        ``grant_type``: only fault requests with that grant_type.
        ``process``: for the modes that replace the answer, let the real
        server handle the request first (a code or refresh token is used up
        and the answer is lost).
        """
        return self._control(
            "POST",
            "faults",
            {
                "mode": mode,
                "count": count,
                "retry_after": retry_after,
                "grant_type": grant_type,
                "process": process,
            },
        )["fault"]

    def clear_fault(self):
        self._control("DELETE", "faults")

    def fault(self):
        """The active fault (with its ``remaining`` count), or None."""
        return self._control("GET", "faults")["fault"]

    def counters(self):
        """{"token_requests", "token_requests_by_grant_type": {...},
        "token_responses_by_status": {"200": n, ...}, "refresh_refused",
        "faults_applied", "revoke_requests", "introspect_requests",
        "authorize_requests", "api_requests", "api_unauthorized"}."""
        return self._control("GET", "counters")

    def token_requests(self):
        """Recent token requests (oldest first), as last_token_request()."""
        return self._control("GET", "token_requests")["requests"]

    def last_token_request(self):
        """The last token request: {"grant_type", "form", "body", "headers",
        "client_auth" ("basic" | "body" | "none"), "response_status",
        "fault", ...}, or None."""
        return self._control("GET", "last_token_request")["request"]

    def last_revoke_request(self):
        return self._control("GET", "last_revoke_request")["request"]

    def reset(self, flush=False):
        self._control("POST", "reset", {"flush": flush})

    def expire_access_tokens(self, token=None):
        """Expire all live access tokens (or just ``token``); returns how many."""
        return self._control("POST", "expire_access_tokens", {"token": token})["expired"]

    def revoke_refresh_tokens(self, token=None):
        """Revoke all live refresh tokens (or just ``token``); returns how many."""
        return self._control("POST", "revoke_refresh_tokens", {"token": token})["revoked"]

    def tokens(self, access_token=None, refresh_token=None):
        """Token counts, plus ``access_token_active`` / ``refresh_token_active``
        for the tokens given."""
        return self._control(
            "POST", "tokens", {"access_token": access_token, "refresh_token": refresh_token}
        )

    def wait_for_counter(self, name, at_least, timeout=10.0):
        """Poll until counters()[name] >= at_least; returns the counters."""
        deadline = time.monotonic() + timeout
        while True:
            counters = self.counters()
            if counters[name] >= at_least:
                return counters
            if time.monotonic() >= deadline:
                raise OAuthServerError(f"counter {name} = {counters[name]} < {at_least}")
            time.sleep(0.05)  # poll interval

    def wait_idle(self, timeout=10.0):
        """Poll until every token request that arrived has been answered
        (e.g. after a client gave up on a ``slow:`` fault); returns the counters."""
        deadline = time.monotonic() + timeout
        while True:
            counters = self.counters()
            answered = sum(counters["token_responses_by_status"].values())
            if answered >= counters["token_requests"]:
                return counters
            if time.monotonic() >= deadline:
                raise OAuthServerError(
                    f"{counters['token_requests'] - answered} token requests in flight"
                )
            time.sleep(0.05)  # poll interval

    # -- resource owner -------------------------------------------------------

    def login(self, username, password, session=None):
        """A requests.Session logged in as the resource owner."""
        session = session or requests.Session()
        response = session.post(
            self.login_url,
            data={"username": username, "password": password, "next": "/"},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise OAuthServerError(f"login as {username!r} failed: {response.status_code}")
        return session

    def authorize(self, url, username, password, approve=True, session=None):
        """Play the resource owner: log in and consent, without a browser.

        ``url`` is an authorization request URL for this server, or a URL
        (e.g. the platform's) that redirects to one. Follows redirects until
        the server sends the user agent away from its own login/authorize
        pages and returns that Location (not followed): the client's
        redirect_uri with ``code``, ``state`` (and ``iss`` when enabled), or
        ``error=access_denied`` when ``approve`` is False and the consent
        page is shown (applications with skip_authorization=False).
        """
        http = session or requests.Session()
        own = urlsplit(self.base_url)

        def is_own_page(target):
            parts = urlsplit(target)
            return (parts.scheme, parts.netloc) == (own.scheme, own.netloc) and parts.path in (
                self.LOGIN_PATH,
                self.AUTHORIZE_PATH,
            )

        reached_server = is_own_page(url)
        response = http.get(url, allow_redirects=False, timeout=30)
        for _hop in range(20):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not is_own_page(location):
                    if reached_server:
                        return location
                    # Still on the client's side of the flow: keep going.
                    response = http.get(location, allow_redirects=False, timeout=30)
                    continue
                reached_server = True
                if urlsplit(location).path == self.LOGIN_PATH:
                    next_url = parse_qs(urlsplit(location).query).get("next", ["/"])[0]
                    response = http.post(
                        self.login_url,
                        data={"username": username, "password": password, "next": next_url},
                        allow_redirects=False,
                        timeout=30,
                    )
                    if response.status_code == 401:
                        raise OAuthServerError(f"login as {username!r} failed")
                else:
                    response = http.get(location, allow_redirects=False, timeout=30)
            elif response.status_code == 200 and 'id="authorizationForm"' in response.text:
                parser = _ConsentFormParser()
                parser.feed(response.text)
                fields = parser.fields
                if approve:
                    fields["allow"] = "Authorize"
                response = http.post(response.url, data=fields, allow_redirects=False, timeout=30)
            else:
                raise OAuthServerError(
                    f"authorization failed at {response.url}: {response.status_code}\n"
                    f"{response.text[:2000]}"
                )
        raise OAuthServerError("too many redirects during authorization")

    def authorization_url(self, client_id, redirect_uri, code_challenge, state, scope="read write"):
        """An authorization-code request URL with PKCE S256."""
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.authorize_url}?{urlencode(query)}"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory):
    """A running test authorization server, shared by the whole session."""
    server = OAuthServer.start(tmp_path_factory.mktemp("oauth_server"))
    try:
        yield server
    finally:
        server.stop()
