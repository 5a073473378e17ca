"""Outbound requests to internal addresses are refused before any socket opens (the development
switch EGRESS_ALLOW_INSECURE_LOCAL stays off here), through the HTTP client and the token calls."""

import ipaddress
import socket

import pytest
import responses
import urllib3.util.connection

from auths.models import Authentication
from connections.client_credentials import authentication_create_client_credentials
from connections.http_client import http_request
from infrastructure.egress import EgressPolicy, EgressRefused, http_session
from infrastructure.errors import RuleViolation
from tests.connections.helpers import custom_service

SSRF_TABLE = [
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.100.100.200/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[fd00:ec2::254]/",
    "https://0.0.0.0/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://10.0.0.1/",
    "https://192.168.1.1/",
    "https://224.0.0.1/",
    "http://127.0.0.1:6379/",  # plain http: refused by scheme before anything else
    "https://internal.example/",  # resolves to 10.0.0.1 (patched resolver below)
]


@pytest.fixture
def no_sockets(monkeypatch, settings):
    """Record any attempt to open a connection; resolve internal.example to 10.0.0.1."""
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    opened = []

    def refuse(address, *args, **kwargs):
        opened.append(address)
        raise AssertionError(f"a socket was opened to {address}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "internal.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port or 443))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return opened


@pytest.mark.django_db
@pytest.mark.parametrize("url", SSRF_TABLE)
def test_http_client_refuses_internal_addresses(tenant, no_sockets, url):
    service = custom_service(tenant, base_url=url)
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="k",
        api_key="secret-key-123",
    )
    with pytest.raises(RuleViolation) as refused:
        http_request(authentication=auth, method="GET", path_or_url="/")
    assert "refused" in refused.value.message
    assert "secret-key-123" not in refused.value.message
    assert no_sockets == []


@pytest.mark.parametrize("url", SSRF_TABLE)
def test_egress_session_refuses_internal_addresses(no_sockets, url):
    session = http_session(policy=EgressPolicy(allow_insecure_local=False))
    with pytest.raises(EgressRefused):
        session.get(url)
    assert no_sockets == []


@pytest.mark.django_db
def test_token_url_on_an_internal_address_is_not_called(tenant, no_sockets):
    service = custom_service(
        tenant,
        auth_scheme="oauth2",
        grant_type="client_credentials",
        token_url="https://169.254.169.254/token",
        client_id="c",
        client_secret="s-123456789",
    )
    with pytest.raises(RuleViolation) as refused:
        authentication_create_client_credentials(
            actor=tenant.actor(tenant.contributor), service=service
        )
    assert refused.value.field == "service"
    assert no_sockets == []
    assert Authentication.objects.count() == 0


def test_onprem_allow_list_lets_a_named_private_host_through(no_sockets):
    policy = EgressPolicy(allowed_hosts=frozenset({"internal.example"}))
    # Resolved and approved: the connection attempt happens (and is caught by the fixture).
    with pytest.raises(AssertionError):
        policy_session = http_session(policy=policy)
        policy_session.get("https://internal.example/")
    assert no_sockets and no_sockets[0][0] == "10.0.0.1"


@responses.activate
def test_redirect_to_another_host_is_not_followed(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    responses.get(
        "https://api.public.example/start",
        status=302,
        headers={"Location": "http://127.0.0.1:6379/"},
    )
    session = http_session(policy=EgressPolicy(), follow_redirects=True)
    response = session.get("https://api.public.example/start", headers={"X-Api-Key": "k"})
    assert response.status_code == 302
    assert len(responses.calls) == 1


@responses.activate
def test_redirect_bodies_are_size_capped_too(settings):
    from infrastructure.egress import ResponseTooLarge

    responses.get(
        "https://api.public.example/big-redirect",
        status=302,
        headers={"Location": "/next"},
        body=b"x" * 2048,
    )
    responses.get("https://api.public.example/next", body=b"ok")
    session = http_session(policy=EgressPolicy(), follow_redirects=True, max_bytes=1024)
    with pytest.raises(ResponseTooLarge):
        session.get("https://api.public.example/big-redirect")
    small = http_session(policy=EgressPolicy(), follow_redirects=True, max_bytes=4096)
    assert small.get("https://api.public.example/big-redirect").content == b"ok"


@responses.activate
def test_token_calls_never_follow_or_read_redirects():
    responses.post(
        "https://idp.public.example/token",
        status=302,
        headers={"Location": "https://idp.public.example/elsewhere"},
        body=b"x" * 2048,
    )
    session = http_session(policy=EgressPolicy(), max_bytes=4096)
    response = session.post("https://idp.public.example/token", data={"a": "b"})
    assert response.status_code == 302
    assert len(responses.calls) == 1


# --- found in review ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "100.100.100.200", "0.0.0.0"])
def test_an_allow_listed_host_still_cannot_reach_loopback_or_metadata(
    monkeypatch, no_sockets, address
):
    """The tenant controls the allow-listed name; it must not become a way into the platform."""

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    session = http_session(policy=EgressPolicy(allowed_hosts=frozenset({"onprem.example"})))
    with pytest.raises(EgressRefused):
        session.get("https://onprem.example/")
    assert no_sockets == []


@responses.activate
def test_redirect_to_the_same_host_on_another_port_is_not_followed(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    responses.get(
        "https://api.public.example/start",
        status=302,
        headers={"Location": "https://api.public.example:8443/collect"},
    )
    session = http_session(policy=EgressPolicy(), follow_redirects=True)
    response = session.get("https://api.public.example/start", headers={"X-Api-Key": "k"})
    assert response.status_code == 302
    assert len(responses.calls) == 1


def test_a_prepared_request_sent_directly_is_guarded_too(settings):
    import requests

    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    session = http_session(policy=EgressPolicy())
    prepared = session.prepare_request(requests.Request("GET", "http://api.public.example/"))
    with pytest.raises(EgressRefused):
        session.send(prepared)


def test_a_refusal_says_the_host_is_not_public_not_where_it_points(no_sockets, hosts):
    """A refusal must not tell a tenant what an internal name resolves to."""
    hosts({"vm.internal.example": ["10.0.0.7"]})
    session = http_session(policy=EgressPolicy(allow_insecure_local=False))
    with pytest.raises(EgressRefused) as refused:
        session.get("https://vm.internal.example/")
    assert "vm.internal.example is not a public host" in str(refused.value)
    assert "10.0.0.7" not in str(refused.value)
    assert no_sockets == []


@pytest.mark.django_db
def test_the_http_client_refusal_does_not_say_where_an_internal_name_points(
    tenant, no_sockets, hosts
):
    hosts({"vm.internal.example": ["10.0.0.7"]})
    service = custom_service(tenant, base_url="https://vm.internal.example/")
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="k",
        api_key="secret-key-123",
    )
    with pytest.raises(RuleViolation) as refused:
        http_request(authentication=auth, method="GET", path_or_url="/")
    assert "vm.internal.example is not a public host" in refused.value.message
    assert "10.0.0.7" not in refused.value.message


# --- the development switch: plain http and loopback/private hosts, never link-local or metadata --

DEVELOPMENT_ALLOWED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "::ffff:127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "fd12:3456::1",
]
ALWAYS_REFUSED = [
    "169.254.169.254",  # AWS, GCP, Azure metadata
    "169.254.170.2",  # ECS task metadata
    "169.254.1.1",  # any link-local address
    "100.100.100.200",  # Alibaba metadata
    "fd00:ec2::254",  # AWS IPv6 metadata
    "fe80::1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 form of 169.254.169.254
    "2002:a9fe:a9fe::",  # 6to4 form of 169.254.169.254
    "0.0.0.0",
    "::",
    "224.0.0.1",
]


@pytest.mark.parametrize("address", DEVELOPMENT_ALLOWED)
def test_the_development_switch_allows_loopback_and_private_addresses(address):
    policy = EgressPolicy(allow_insecure_local=True)
    assert policy.address_allowed("dev.example", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALWAYS_REFUSED)
def test_the_development_switch_never_allows_link_local_or_metadata(address):
    for policy in (
        EgressPolicy(allow_insecure_local=True),
        EgressPolicy(allow_insecure_local=True, allowed_hosts=frozenset({"dev.example"})),
    ):
        assert not policy.address_allowed("dev.example", ipaddress.ip_address(address))


def test_the_development_switch_does_not_open_cgnat():
    policy = EgressPolicy(allow_insecure_local=True)
    assert not policy.address_allowed("dev.example", ipaddress.ip_address("100.64.0.1"))


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/"]
)
def test_an_egress_session_with_the_development_switch_refuses_metadata(no_sockets, url):
    session = http_session(policy=EgressPolicy(allow_insecure_local=True))
    with pytest.raises(EgressRefused):
        session.get(url)
    assert no_sockets == []


def test_an_egress_session_with_the_development_switch_reaches_loopback(no_sockets):
    session = http_session(policy=EgressPolicy(allow_insecure_local=True))
    with pytest.raises(AssertionError):  # the connection attempt, caught by the fixture
        session.get("http://127.0.0.1:9/")
    assert no_sockets and no_sockets[0][0] == "127.0.0.1"


@pytest.mark.django_db
def test_with_the_development_switch_a_metadata_service_is_neither_saved_nor_called(
    tenant, api, no_sockets, settings
):
    """The report: a service with base URL http://169.254.169.254/latest was created and called."""
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    client = api.as_user(tenant.owner)
    organization = tenant.organization.slug
    created = client.post(
        f"/api/organizations/{organization}/custom-services/",
        {
            "name": "Metadata",
            "auth_scheme": "token",
            "base_url": "http://169.254.169.254/latest",
            "credential_header_name": "X-Api-Key",
        },
        format="json",
    )
    assert created.status_code == 400, created.content
    assert list(created.json()["error"]["fields"]) == ["base_url"]
    # One saved before this check existed is still not called.
    service = custom_service(tenant, base_url="http://169.254.169.254/latest")
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="k",
        api_key="secret-key-123",
    )
    called = client.post(
        f"/api/organizations/{organization}/authentications/{auth.pk}/request/",
        {"path": "/meta-data/iam/security-credentials/"},
        format="json",
    )
    assert called.status_code == 400, called.content
    assert "is not a public host" in called.json()["error"]["message"]
    assert no_sockets == []
