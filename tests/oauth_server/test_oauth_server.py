"""Tests of the test authorization server itself (real HTTP, no mocks).

Run: pytest tests/oauth_server -p no:django
"""

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from .fixture import OAuthServerError, pkce_pair

CALLBACK = "http://127.0.0.1:9/callback"  # never followed: authorize() returns it


@pytest.fixture(autouse=True)
def _clean_server(oauth_server):
    oauth_server.reset()
    yield


def _name(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


def _password_client(server):
    user = server.create_user(_name("user"))
    app = server.create_application(grant_type="password")
    return user, app


def _password_token(server, user, app):
    response = requests.post(
        server.token_url,
        data={"grant_type": "password", "username": user["username"], "password": user["password"]},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(server, app, refresh_token, **kwargs):
    return requests.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
        **kwargs,
    )


def _client_credentials(server, app):
    return requests.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
    )


def _echo(server, token, path="", **kwargs):
    return requests.get(
        server.echo_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs
    )


# -- authorization code + PKCE ------------------------------------------------


def test_authorization_code_pkce_flow_and_rotating_refresh(oauth_server, monkeypatch):
    # oauthlib refuses http:// redirect URIs without this.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    user = oauth_server.create_user(_name("alice"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK])

    client = OAuth2Session(
        app["client_id"], redirect_uri=CALLBACK, scope=["read", "write"], pkce="S256"
    )
    url, state = client.authorization_url(oauth_server.authorize_url)
    redirect = oauth_server.authorize(url, user["username"], user["password"])

    parts = urlsplit(redirect)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    assert query["state"] == [state]
    assert "code" in query
    assert "iss" not in query  # off by default

    token = client.fetch_token(
        oauth_server.token_url, authorization_response=redirect, client_secret=app["client_secret"]
    )
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"]

    sent = oauth_server.last_token_request()
    assert sent["grant_type"] == "authorization_code"
    assert sent["form"]["code_verifier"] == client._code_verifier
    assert sent["client_auth"] == "basic"
    assert sent["headers"]["Authorization"].startswith("Basic ")
    assert sent["response_status"] == 200

    echo = _echo(oauth_server, token["access_token"])
    assert echo.status_code == 200
    assert echo.json()["auth"]["username"] == user["username"]

    # Refresh rotates the refresh token.
    first_refresh = token["refresh_token"]
    refreshed = _refresh(oauth_server, app, first_refresh)
    assert refreshed.status_code == 200, refreshed.text
    second_refresh = refreshed.json()["refresh_token"]
    assert second_refresh != first_refresh
    assert refreshed.json()["access_token"] != token["access_token"]

    # Reusing the rotated-out token fails, and revokes the whole family.
    reused = _refresh(oauth_server, app, first_refresh)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    after_reuse = _refresh(oauth_server, app, second_refresh)
    assert after_reuse.status_code == 400
    assert after_reuse.json()["error"] == "invalid_grant"

    counters = oauth_server.counters()
    assert counters["token_requests_by_grant_type"] == {
        "authorization_code": 1,
        "refresh_token": 3,
    }
    assert counters["refresh_refused"] == 2
    assert counters["authorize_requests"] >= 1


def test_authorization_requires_pkce_s256(oauth_server):
    user = oauth_server.create_user(_name("bob"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK])

    no_pkce = (
        f"{oauth_server.authorize_url}?response_type=code&client_id={app['client_id']}"
        f"&redirect_uri={CALLBACK}&state=s1"
    )
    redirect = oauth_server.authorize(no_pkce, user["username"], user["password"])
    assert parse_qs(urlsplit(redirect).query)["error"] == ["invalid_request"]

    plain = no_pkce + "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain"
    redirect = oauth_server.authorize(plain, user["username"], user["password"])
    assert parse_qs(urlsplit(redirect).query)["error"] == ["invalid_request"]


def test_code_exchange_with_wrong_verifier_fails(oauth_server):
    user = oauth_server.create_user(_name("carol"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK])
    _verifier, challenge = pkce_pair()
    url = oauth_server.authorization_url(app["client_id"], CALLBACK, challenge, "st")
    redirect = oauth_server.authorize(url, user["username"], user["password"])
    code = parse_qs(urlsplit(redirect).query)["code"][0]

    response = requests.post(
        oauth_server.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": pkce_pair()[0],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert oauth_server.last_token_request()["client_auth"] == "body"


def test_authorization_response_iss(oauth_server):
    user = oauth_server.create_user(_name("dave"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK])

    def iss_of_redirect():
        _verifier, challenge = pkce_pair()
        url = oauth_server.authorization_url(app["client_id"], CALLBACK, challenge, "st")
        redirect = oauth_server.authorize(url, user["username"], user["password"])
        return parse_qs(urlsplit(redirect).query).get("iss")

    oauth_server.set_issuer(include=True)
    assert iss_of_redirect() == [oauth_server.issuer]
    metadata = requests.get(oauth_server.metadata_url, timeout=30).json()
    assert metadata["issuer"] == oauth_server.issuer

    oauth_server.set_issuer(include=True, issuer="https://evil.example")
    assert iss_of_redirect() == ["https://evil.example"]

    oauth_server.reset()
    assert iss_of_redirect() is None


def test_consent_page_approve_and_deny(oauth_server):
    user = oauth_server.create_user(_name("erin"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK], skip_authorization=False)
    _verifier, challenge = pkce_pair()
    url = oauth_server.authorization_url(app["client_id"], CALLBACK, challenge, "st-1")

    approved = parse_qs(
        urlsplit(oauth_server.authorize(url, user["username"], user["password"])).query
    )
    assert "code" in approved and approved["state"] == ["st-1"]

    denied = oauth_server.authorize(url, user["username"], user["password"], approve=False)
    assert parse_qs(urlsplit(denied).query)["error"] == ["access_denied"]


def test_authorize_with_wrong_password_raises(oauth_server):
    user = oauth_server.create_user(_name("frank"))
    app = oauth_server.create_application(redirect_uris=[CALLBACK])
    url = oauth_server.authorization_url(app["client_id"], CALLBACK, pkce_pair()[1], "st")
    with pytest.raises(OAuthServerError, match="login"):
        oauth_server.authorize(url, user["username"], "wrong")


# -- other grants ----------------------------------------------------------------


def test_client_credentials(oauth_server):
    app = oauth_server.create_application(grant_type="client-credentials")
    response = _client_credentials(oauth_server, app)
    assert response.status_code == 200, response.text
    token = response.json()
    assert "refresh_token" not in token

    echo = _echo(oauth_server, token["access_token"]).json()
    assert echo["auth"] == {
        "type": "bearer",
        "username": None,
        "client_id": app["client_id"],
        "scope": "read write",
    }

    bad = requests.post(
        oauth_server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], "wrong-secret"),
        timeout=30,
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"


def test_password_grant(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    assert token["refresh_token"]
    assert _echo(oauth_server, token["access_token"]).json()["auth"]["username"] == user["username"]
    assert oauth_server.last_token_request()["form"]["username"] == user["username"]


def test_revocation_endpoint(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    response = requests.post(
        oauth_server.revoke_url,
        data={"token": token["access_token"], "token_type_hint": "access_token"},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200
    assert _echo(oauth_server, token["access_token"]).status_code == 401
    assert oauth_server.counters()["revoke_requests"] == 1
    assert oauth_server.last_revoke_request()["client_auth"] == "basic"
    assert oauth_server.tokens(access_token=token["access_token"])["access_token_active"] is False


def test_introspection(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    response = requests.post(
        oauth_server.introspect_url,
        data={"token": token["access_token"]},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert response.json()["username"] == user["username"]


# -- resource endpoints ----------------------------------------------------------


def test_echo_reports_the_request(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)["access_token"]
    response = requests.post(
        oauth_server.echo_url + "/some/path?a=1&a=2&b=x",
        headers={"Authorization": f"Bearer {token}", "X-Custom": "yes"},
        data="hello body",
        timeout=30,
    )
    assert response.status_code == 200
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/api/echo/some/path"
    assert echo["query"] == {"a": ["1", "2"], "b": ["x"]}
    assert echo["headers"]["X-Custom"] == "yes"
    assert echo["headers"]["Authorization"] == f"Bearer {token}"
    assert echo["body"] == "hello body"
    assert echo["auth"]["type"] == "bearer"


def test_echo_credentials(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)["access_token"]

    by_query = requests.get(oauth_server.echo_url, params={"access_token": token}, timeout=30)
    assert by_query.json()["auth"]["type"] == "query"

    by_basic = requests.get(
        oauth_server.echo_url, auth=(user["username"], user["password"]), timeout=30
    )
    assert by_basic.json()["auth"] == {
        "type": "basic",
        "username": user["username"],
        "client_id": None,
        "scope": None,
    }
    bad_basic = requests.get(oauth_server.echo_url, auth=(user["username"], "nope"), timeout=30)
    assert bad_basic.status_code == 401

    oauth_server.set_api_key("k-123", header="X-Api-Key")
    by_key = requests.get(oauth_server.echo_url, headers={"X-Api-Key": "k-123"}, timeout=30)
    assert by_key.json()["auth"]["type"] == "api_key"
    bad_key = requests.get(oauth_server.echo_url, headers={"X-Api-Key": "other"}, timeout=30)
    assert bad_key.status_code == 401

    anonymous = requests.get(oauth_server.echo_url, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in anonymous.headers["WWW-Authenticate"]

    invalid = _echo(oauth_server, "not-a-token")
    assert invalid.status_code == 401
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]
    assert oauth_server.counters()["api_unauthorized"] == 4


def test_expire_access_tokens_gives_401_and_refresh_still_works(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    assert _echo(oauth_server, token["access_token"]).status_code == 200

    assert oauth_server.expire_access_tokens() >= 1
    expired = _echo(oauth_server, token["access_token"])
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]

    refreshed = _refresh(oauth_server, app, token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert _echo(oauth_server, refreshed.json()["access_token"]).status_code == 200


def test_revoke_refresh_tokens(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    assert oauth_server.revoke_refresh_tokens(token=token["refresh_token"]) == 1
    assert (
        oauth_server.tokens(refresh_token=token["refresh_token"])["refresh_token_active"] is False
    )
    # The access token is untouched by the revocation itself...
    assert _echo(oauth_server, token["access_token"]).status_code == 200
    response = _refresh(oauth_server, app, token["refresh_token"])
    assert response.json()["error"] == "invalid_grant"
    assert oauth_server.counters()["refresh_refused"] == 1
    # ...but presenting a revoked refresh token is treated as reuse: DOT
    # revokes the whole token family, access token included.
    assert _echo(oauth_server, token["access_token"]).status_code == 401


def test_lifetimes(oauth_server):
    user, app = _password_client(oauth_server)
    oauth_server.set_lifetimes(
        access_token_seconds=5, refresh_token_seconds=120, include_refresh_token_expires_in=True
    )
    token = _password_token(oauth_server, user, app)
    assert token["expires_in"] == 5
    assert token["refresh_token_expires_in"] == 120

    # A zero lifetime: every refresh token is already expired.
    oauth_server.set_lifetimes(refresh_token_seconds=0)
    response = _refresh(oauth_server, app, token["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"

    oauth_server.reset()
    token = _password_token(oauth_server, user, app)
    assert token["expires_in"] == 3600
    assert "refresh_token_expires_in" not in token


def test_public_large_redirect_status(oauth_server):
    assert requests.get(oauth_server.public_url, timeout=30).json()["ok"] is True

    large = requests.get(oauth_server.large_url, params={"bytes": 300_000}, timeout=30)
    assert large.headers["Content-Length"] == "300000"
    assert len(large.content) == 300_000
    unsized = requests.get(
        oauth_server.large_url, params={"bytes": 1000, "no_length": 1}, timeout=30
    )
    assert "Content-Length" not in unsized.headers
    assert len(unsized.content) == 1000

    redirect = requests.get(
        oauth_server.redirect_url,
        params={"to": "http://169.254.169.254/latest", "status": 307},
        allow_redirects=False,
        timeout=30,
    )
    assert redirect.status_code == 307
    assert redirect.headers["Location"] == "http://169.254.169.254/latest"

    status = requests.get(
        oauth_server.base_url + "/api/status/429", params={"retry_after": 7}, timeout=30
    )
    assert status.status_code == 429
    assert status.headers["Retry-After"] == "7"


# -- faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "check"),
    [
        ("status:500", 500, lambda r: r.json()["error"] == "server_error"),
        ("status:503", 503, lambda r: r.headers["Retry-After"] == "2"),
        ("status:429", 429, lambda r: r.headers["Retry-After"] == "2"),
        ("html", 200, lambda r: r.headers["Content-Type"].startswith("text/html")),
        ("html:502", 502, lambda r: "<html>" in r.text),
        ("error_200", 200, lambda r: r.json()["error"] == "server_error"),
        ("no_access_token", 200, lambda r: "access_token" not in r.json()),
        ("invalid_grant", 400, lambda r: r.json()["error"] == "invalid_grant"),
        ("no_expires_in", 200, lambda r: "expires_in" not in r.json() and r.json()["access_token"]),
        (
            "no_refresh_token",
            200,
            lambda r: "refresh_token" not in r.json() and r.json()["access_token"],
        ),
    ],
)
def test_fault_modes_on_refresh(oauth_server, mode, status, check):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)

    fault = oauth_server.set_fault(mode, count=1, retry_after=2)
    assert fault["remaining"] == 1
    faulted = _refresh(oauth_server, app, token["refresh_token"])
    assert faulted.status_code == status
    assert check(faulted), faulted.text
    assert oauth_server.fault() is None  # count used up

    counters = oauth_server.counters()
    assert counters["token_requests_by_grant_type"] == {"password": 1, "refresh_token": 1}
    assert counters["token_responses_by_status"][str(status)] >= 1
    assert counters["faults_applied"] == 1
    assert oauth_server.last_token_request()["fault"] is True

    # Modes that replace the answer leave the refresh token unused.
    if mode not in ("no_expires_in", "no_refresh_token"):
        assert _refresh(oauth_server, app, token["refresh_token"]).status_code == 200


def test_slow_fault(oauth_server):
    app = oauth_server.create_application(grant_type="client-credentials")
    oauth_server.set_fault("slow:0.6", count=1)
    started = time.monotonic()
    response = _client_credentials(oauth_server, app)
    assert time.monotonic() - started >= 0.6
    assert response.status_code == 200
    assert response.json()["access_token"]
    # A client that gives up before the answer: the request still counts.
    oauth_server.set_fault("slow:1", count=1)
    with pytest.raises(requests.Timeout):
        _client_credentials_with_timeout(oauth_server, app, timeout=0.3)
    counters = oauth_server.wait_idle()
    assert counters["token_requests"] == 2
    assert counters["token_responses_by_status"] == {"200": 2}


def _client_credentials_with_timeout(server, app, timeout):
    return requests.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
        timeout=timeout,
    )


def test_fault_count_grant_filter_and_until_cleared(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    oauth_server.set_fault("status:503", count=2, grant_type="refresh_token")

    # Other grant types pass and do not use up the count.
    _password_token(oauth_server, user, app)
    assert oauth_server.fault()["remaining"] == 2
    assert _refresh(oauth_server, app, token["refresh_token"]).status_code == 503
    assert _refresh(oauth_server, app, token["refresh_token"]).status_code == 503
    assert _refresh(oauth_server, app, token["refresh_token"]).status_code == 200

    oauth_server.set_fault("status:500")  # no count: until cleared
    for _ in range(3):
        assert _password_grant_status(oauth_server, user, app) == 500
    oauth_server.clear_fault()
    assert _password_grant_status(oauth_server, user, app) == 200


def _password_grant_status(server, user, app):
    return requests.post(
        server.token_url,
        data={"grant_type": "password", "username": user["username"], "password": user["password"]},
        auth=(app["client_id"], app["client_secret"]),
        timeout=30,
    ).status_code


def test_fault_after_processing_loses_the_rotated_token(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    oauth_server.set_fault("status:502", count=1, process=True)
    assert _refresh(oauth_server, app, token["refresh_token"]).status_code == 502
    # DOT rotated the token; the client never saw the new one.
    retry = _refresh(oauth_server, app, token["refresh_token"])
    assert retry.status_code == 400
    assert retry.json()["error"] == "invalid_grant"
    assert oauth_server.counters()["refresh_refused"] == 1


def test_bad_control_input_is_rejected(oauth_server):
    with pytest.raises(OAuthServerError, match="400"):
        oauth_server.set_fault("explode")
    with pytest.raises(OAuthServerError, match="400"):
        oauth_server.update_settings(no_such_setting=1)


# -- concurrency ----------------------------------------------------------------------


def test_50_concurrent_client_credentials_requests(oauth_server):
    app = oauth_server.create_application(grant_type="client-credentials")
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(
            pool.map(lambda _: _client_credentials(oauth_server, app).status_code, range(50))
        )
    assert statuses == [200] * 50
    counters = oauth_server.counters()
    assert counters["token_requests"] == 50
    assert counters["token_requests_by_grant_type"] == {"client_credentials": 50}
    assert counters["token_responses_by_status"] == {"200": 50}


def test_50_concurrent_refreshes_of_one_token_are_all_counted(oauth_server):
    user, app = _password_client(oauth_server)
    token = _password_token(oauth_server, user, app)
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(
            pool.map(lambda _: _refresh(oauth_server, app, token["refresh_token"]), range(50))
        )
    # Processed one at a time: the first wins, the other 49 are reuses (no
    # "database is locked" 500s).
    assert sorted(r.status_code for r in responses) == [200] + [400] * 49
    counters = oauth_server.counters()
    assert counters["token_requests_by_grant_type"]["refresh_token"] == 50
    assert counters["refresh_refused"] == 49
    # The reuses revoked the winner's new tokens too.
    winner = next(r.json() for r in responses if r.status_code == 200)
    status = oauth_server.tokens(
        access_token=winner["access_token"], refresh_token=winner["refresh_token"]
    )
    assert status["access_token_active"] is False
    assert status["refresh_token_active"] is False
