"""What the HTTP client refuses before anything is sent (issue 11, item 2): paths that leave the
base path, secret parameters in caller-supplied paths, the credential header or query parameter
however spelled, and ports that are not ports. Each through the loopback server, whose counters
show that nothing arrived."""

import pytest
from django.urls import reverse

from connections.http_client import http_request
from connections.password_grant import authentication_create_password
from connections.token_auth import authentication_create_token
from infrastructure.errors import RuleViolation
from tests.connections.helpers import custom_service, oauth2_service, org_kwargs

pytestmark = pytest.mark.django_db

KEY = "the-api-key-0123456789"
SECRET_SECTION = "secret-section-value-42"


def key_auth(tenant, server, **fields):
    server.set_api_key(KEY, header="X-Api-Key")
    values = {
        "base_url": server.base_url + "/api",
        "credential_header_name": "X-Api-Key",
        "credential_prefix": "",
    }
    values.update(fields)
    service = custom_service(tenant, **values)
    return authentication_create_token(
        actor=tenant.actor(tenant.owner), service=service, credentials={"api_key": KEY}
    )


def bearer_auth(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, grant_type="password", discouraged_acknowledged=True)
    return authentication_create_password(
        actor=tenant.actor(tenant.owner),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )


def refused(auth, **request) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        http_request(authentication=auth, method="GET", **request)
    return caught.value


@pytest.mark.parametrize(
    "path",
    [
        "/echo/../../o/token/",
        "/echo/%2e%2e/%2E%2E/o/token/",
        "/echo/%252e%252e/%252e%252e/o/token/",
        "/echo/..\\..\\o/token/",
        "../o/token/",
    ],
)
def test_a_path_that_leaves_the_base_path_is_refused(tenant, server, resource_owner, path):
    auth = bearer_auth(tenant, server, resource_owner)
    tokens = server.counters()["token_requests"]
    error = refused(auth, path_or_url=path)
    assert error.field == "path_or_url"
    assert "base path (/api)" in error.message
    assert server.counters()["token_requests"] == tokens


def test_an_absolute_url_outside_the_base_path_is_refused(tenant, server, resource_owner):
    auth = bearer_auth(tenant, server, resource_owner)
    assert "base path" in refused(auth, path_or_url=server.token_url).message


def test_dot_segments_that_stay_inside_the_base_path_are_fine(tenant, server, resource_owner):
    auth = bearer_auth(tenant, server, resource_owner)
    result = http_request(authentication=auth, method="GET", path_or_url="/echo/a/../b")
    assert result.status == 200
    assert result.json()["path"] in ("/api/echo/b", "/api/echo/a/../b")


def test_a_caller_path_never_expands_a_secret_parameter(tenant, server):
    server.set_api_key(KEY, header="X-Api-Key")
    service = custom_service(
        tenant,
        base_url=server.base_url + "/api",
        credential_header_name="X-Api-Key",
        credential_prefix="",
        parameters=[{"name": "section", "secret": True}, {"name": "region"}],
    )
    auth = authentication_create_token(
        actor=tenant.actor(tenant.owner),
        service=service,
        credentials={"api_key": KEY},
        parameters={"section": SECRET_SECTION, "region": "eu"},
    )
    error = refused(auth, path_or_url="/echo/{{section}}")
    assert "{{section}} is a secret parameter" in error.message
    assert SECRET_SECTION not in error.message
    # Public parameters still expand.
    echo = http_request(authentication=auth, method="GET", path_or_url="/echo/{{region}}").json()
    assert echo["path"] == "/api/echo/eu"


def test_every_secret_of_the_auth_is_redacted_from_what_comes_back(tenant, server):
    """The service's own base URL may use a secret parameter; a reflecting endpoint echoes it."""
    server.set_api_key(KEY, header="X-Api-Key")
    service = custom_service(
        tenant,
        base_url=server.base_url + "/api/echo/{{section}}",
        credential_header_name="X-Api-Key",
        credential_prefix="",
        parameters=[{"name": "section", "secret": True}],
    )
    auth = authentication_create_token(
        actor=tenant.actor(tenant.owner),
        service=service,
        credentials={"api_key": KEY},
        parameters={"section": SECRET_SECTION},
    )
    result = http_request(authentication=auth, method="GET", path_or_url="/x")
    assert result.status == 200
    assert SECRET_SECTION not in result.text
    assert KEY not in result.text
    assert result.json()["path"] == "/api/echo/[redacted]/x"


@pytest.mark.parametrize("name", ["X-Api-Key ", " x-api-key", "X-API-KEY"])
def test_the_credential_header_is_refused_however_spelled(tenant, server, name):
    auth = key_auth(tenant, server)
    before = server.counters()["api_requests"]
    error = refused(auth, path_or_url="/echo", headers={name: "attacker"})
    assert error.field == "headers.X-Api-Key".replace("X-Api-Key", name.strip())
    assert server.counters()["api_requests"] == before


@pytest.mark.parametrize("name", ["X Api", "X-A:b", "", "Ünicode"])
def test_a_header_name_that_is_not_a_token_is_refused(tenant, server, name):
    auth = key_auth(tenant, server)
    assert (
        "not a valid header name" in refused(auth, path_or_url="/echo", headers={name: "1"}).message
    )


def test_a_header_value_with_a_line_break_is_refused(tenant, server):
    auth = key_auth(tenant, server)
    error = refused(auth, path_or_url="/echo", headers={"X-Trace": "a\r\nX-Api-Key: attacker"})
    assert error.field == "headers.X-Trace"


@pytest.mark.parametrize(
    "path", ["/echo?access_token=attacker", "/echo?a=1&ACCESS_TOKEN=x", "/echo?access%5Ftoken=x"]
)
def test_the_credential_query_parameter_is_refused_inside_the_path(
    tenant, server, resource_owner, path
):
    service = oauth2_service(
        tenant,
        server,
        grant_type="password",
        discouraged_acknowledged=True,
        credential_placement="query",
        credential_query_param="access_token",
    )
    auth = authentication_create_password(
        actor=tenant.actor(tenant.owner),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )
    before = server.counters()["api_requests"]
    error = refused(auth, path_or_url=path)
    assert "access_token query parameter is set by the platform" in error.message
    assert server.counters()["api_requests"] == before


@pytest.mark.parametrize("port", ["abc", "65536", "-1"])
def test_a_bad_port_in_an_absolute_url_is_a_clear_refusal(tenant, server, api, port):
    auth = key_auth(tenant, server)
    response = api.as_user(tenant.owner).post(
        reverse("authentication-request", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {"method": "GET", "path": f"http://127.0.0.1:{port}/api/echo"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["path_or_url"]


@pytest.mark.parametrize("port", ["abc", "65536"])
def test_a_redirect_to_a_bad_port_is_returned_not_followed(tenant, server, port):
    auth = key_auth(tenant, server)
    result = http_request(
        authentication=auth,
        method="GET",
        path_or_url=f"/redirect?to=http://127.0.0.1:{port}/x",
    )
    assert result.status == 302
    assert result.headers["Location"] == f"http://127.0.0.1:{port}/x"
