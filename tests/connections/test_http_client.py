"""The HTTP client: credentials injected per placement (checked at the loopback echo endpoint),
401 -> refresh -> replay, same-host rule, size cap, last_used_at."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication
from connections.http_client import access_token_expired, expiry_skew, http_request
from connections.password_grant import authentication_create_password
from connections.token_auth import authentication_create_token
from infrastructure.errors import RuleViolation, UpstreamError
from tests.connections.helpers import custom_service, oauth2_service, org_kwargs

pytestmark = pytest.mark.django_db


def token_auth(tenant, server, credentials, **service_fields):
    service = custom_service(tenant, base_url=server.base_url + "/api", **service_fields)
    return authentication_create_token(
        actor=tenant.actor(tenant.contributor), service=service, credentials=credentials
    )


def password_auth(tenant, server, resource_owner, **fields):
    service = oauth2_service(tenant, server, grant_type="password", **fields)
    return authentication_create_password(
        actor=tenant.actor(tenant.contributor),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )


def test_bearer_header_placement(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    result = http_request(
        authentication=auth,
        method="POST",
        path_or_url="/echo/items",
        query={"q": "1"},
        json={"a": 1},
        headers={"X-Trace": "t-1"},
    )
    echo = result.json()
    assert result.status == 200
    assert echo["auth"] == {
        "type": "bearer",
        "username": resource_owner["username"],
        "client_id": auth.service.client_id,
        "scope": "read write",
    }
    assert echo["path"] == "/api/echo/items"
    assert echo["query"] == {"q": ["1"]}
    assert echo["body"] == '{"a": 1}'
    assert echo["headers"]["X-Trace"] == "t-1"
    assert echo["headers"]["Authorization"] == "Bearer [redacted]"


def test_query_parameter_placement(tenant, server, resource_owner):
    auth = password_auth(
        tenant, server, resource_owner, credential_placement="query",
        credential_query_param="access_token",
    )  # fmt: skip
    echo = http_request(authentication=auth, method="GET", path_or_url="echo").json()
    assert echo["auth"]["type"] == "query"
    assert "Authorization" not in echo["headers"]


def test_api_key_header_placement(tenant, server):
    server.set_api_key("key-123456", header="X-Api-Key")
    auth = token_auth(
        tenant,
        server,
        {"api_key": "key-123456"},
        credential_header_name="X-Api-Key",
        credential_prefix="",
    )
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.json()["auth"]["type"] == "api_key"
    # Reflected credentials are redacted from what the client returns.
    assert result.json()["headers"]["X-Api-Key"] == "[redacted]"


def test_basic_placement(tenant, server, resource_owner):
    auth = token_auth(
        tenant,
        server,
        {"username": resource_owner["username"], "password": resource_owner["password"]},
        credential_placement="basic",
    )
    echo = http_request(authentication=auth, method="GET", path_or_url="/echo").json()
    assert echo["auth"]["type"] == "basic"
    assert echo["auth"]["username"] == resource_owner["username"]


def test_wrong_key_returns_the_providers_answer(tenant, server):
    server.set_api_key("right", header="X-Api-Key")
    auth = token_auth(
        tenant, server, {"api_key": "wrong"}, credential_header_name="X-Api-Key",
        credential_prefix="",
    )  # fmt: skip
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.status == 401
    assert not result.refreshed


def test_401_refreshes_once_and_replays(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    server.expire_access_tokens()

    result = http_request(authentication=auth, method="GET", path_or_url="/echo")

    assert result.status == 200
    assert result.refreshed
    counters = server.counters()
    assert counters["token_requests_by_grant_type"]["refresh_token"] == 1
    assert counters["api_unauthorized"] == 1
    assert Authentication.objects.get(pk=auth.pk).version == auth.version + 1


def test_401_with_a_dead_grant_returns_the_401_and_marks_needs_reauth(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    server.expire_access_tokens()
    server.revoke_refresh_tokens()

    result = http_request(authentication=auth, method="GET", path_or_url="/echo")

    assert result.status == 401
    assert Authentication.objects.get(pk=auth.pk).status == "needs_reauth"


def test_configured_expired_status_triggers_refresh(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner, expired_status_codes=[418])
    result = http_request(authentication=auth, method="GET", path_or_url="/status/418")
    assert result.status == 418  # replayed once, still 418: no loop
    assert server.counters()["token_requests_by_grant_type"]["refresh_token"] == 1


def test_known_expired_token_is_refreshed_before_the_call(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    Authentication.objects.filter(pk=auth.pk).update(access_token_expires_at="2000-01-01T00:00Z")
    auth.refresh_from_db()
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.status == 200
    assert server.counters()["api_unauthorized"] == 0


def test_absolute_url_on_the_same_host_is_allowed_and_another_host_refused(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    result = http_request(authentication=auth, method="GET", path_or_url=server.echo_url)
    assert result.status == 200
    with pytest.raises(RuleViolation) as refused:
        http_request(
            authentication=auth, method="GET", path_or_url="https://elsewhere.example/api/echo"
        )
    assert refused.value.field == "path_or_url"
    with pytest.raises(RuleViolation):
        http_request(authentication=auth, method="GET", path_or_url="http://localhost:1/x")


def test_caller_may_not_set_the_credential_header(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    with pytest.raises(RuleViolation) as refused:
        http_request(
            authentication=auth,
            method="GET",
            path_or_url="/echo",
            headers={"authorization": "Bearer mine"},
        )
    assert refused.value.field == "headers.authorization"


def test_placeholders_in_base_url_and_path_are_resolved(tenant, server):
    server.set_api_key("k-9", header="X-Api-Key")
    service = custom_service(
        tenant,
        base_url=server.base_url + "/api/{{section}}",
        credential_header_name="X-Api-Key",
        credential_prefix="",
        parameters=[{"name": "section", "required": True, "pattern": "[a-z]+"}],
    )
    auth = authentication_create_token(
        actor=tenant.actor(tenant.contributor),
        service=service,
        credentials={"api_key": "k-9"},
        parameters={"section": "echo"},
    )
    echo = http_request(authentication=auth, method="GET", path_or_url="/a b").json()
    assert echo["path"] == "/api/echo/a b"


def test_response_body_is_size_capped(tenant, server, resource_owner):
    service = custom_service(tenant, base_url=server.base_url + "/api")
    auth = authentication_create_token(
        actor=tenant.actor(tenant.contributor), service=service, credentials={"api_key": "x"}
    )
    with pytest.raises(UpstreamError):
        http_request(
            authentication=auth, method="GET", path_or_url="/large?bytes=6000000&no_length=1"
        )


def test_records_last_used(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    assert auth.last_used_at is None
    http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert Authentication.objects.get(pk=auth.pk).last_used_at is not None


def test_api_endpoint_makes_the_request(tenant, server, resource_owner, api):
    auth = password_auth(tenant, server, resource_owner)
    # The organization workspace's auths are usable by every member, viewers included.
    response = api.as_user(tenant.contributor).post(
        reverse("authentication-request", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {"method": "PUT", "path": "/echo/x", "json": {"k": "v"}, "query": {"page": 2}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == 200
    assert body["body_encoding"] == "utf-8"
    assert '"method": "PUT"' in body["body"]
    assert auth.access_token.reveal() not in response.content.decode()


def test_other_members_cannot_use_an_auth_in_a_personal_workspace(
    tenant, server, resource_owner, api
):
    auth = password_auth(tenant, server, resource_owner)
    response = api.as_user(tenant.viewer).post(
        reverse("authentication-request", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {"path": "/echo"},
        format="json",
    )
    assert response.status_code == 404


def test_401_during_a_refresh_cooldown_does_not_call_the_token_endpoint(
    tenant, server, resource_owner
):
    auth = password_auth(tenant, server, resource_owner)
    Authentication.objects.filter(pk=auth.pk).update(last_refresh_failed_at=timezone.now())
    auth.refresh_from_db()
    server.expire_access_tokens()

    result = http_request(authentication=auth, method="GET", path_or_url="/echo")

    assert result.status == 401
    assert server.counters()["token_requests_by_grant_type"].get("refresh_token", 0) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lifetime", [10, 20, 3600])
def test_thirty_concurrent_calls_on_an_expired_token_make_one_token_request(
    tenant, server, resource_owner, lifetime
):
    """Each call reads the auth when it starts, as separate API requests do: those that read it
    before the refresh wait for the lock and use the token just written; those that read it after
    see a valid token, however short-lived (issue 10, §3)."""
    server.set_lifetimes(access_token_seconds=lifetime)
    auth = password_auth(tenant, server, resource_owner)
    now = timezone.now()
    Authentication.objects.filter(pk=auth.pk).update(
        last_refreshed_at=now - timedelta(seconds=lifetime + 1),
        access_token_expires_at=now - timedelta(seconds=1),
    )
    server.expire_access_tokens()
    before = server.counters()["token_requests_by_grant_type"].get("refresh_token", 0)
    barrier = threading.Barrier(30)

    def call(index):
        try:
            barrier.wait(timeout=30)
            time.sleep(index * 0.02)  # spread over 0.6 s: readers before and after the refresh
            current = Authentication.objects.select_related("service", "organization").get(
                pk=auth.pk
            )
            return http_request(authentication=current, method="GET", path_or_url="/echo").status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(call, range(30)))

    assert statuses == [200] * 30
    after = server.counters()["token_requests_by_grant_type"].get("refresh_token", 0)
    assert after - before == 1


def test_the_expiry_margin_scales_with_the_token_lifetime(tenant, server, resource_owner):
    auth = password_auth(tenant, server, resource_owner)
    now = timezone.now()
    auth.last_refreshed_at = now
    for lifetime, margin in ((20, 2), (300, 30), (3600, 30)):
        auth.access_token_expires_at = now + timedelta(seconds=lifetime)
        assert expiry_skew(auth) == timedelta(seconds=margin)
        assert not access_token_expired(auth, now)
        assert access_token_expired(auth, now + timedelta(seconds=lifetime - margin))
