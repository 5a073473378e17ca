"""The HTTP client's pooled sessions (egress.pooled_http_session): one keep-alive connection per
thread and egress policy, counted at a loopback server; no cookie carried from one call to the
next; another organization's policy never shares the pool; the address is checked again on every
request, so a name that moves to an internal address is refused on a new connection."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection

from auths.models import Authentication
from connections.http_client import http_request
from infrastructure.egress import EgressPolicy, pooled_http_session
from infrastructure.encryption import Sealed
from infrastructure.errors import RuleViolation
from tests.connections.helpers import custom_service
from workspaces.models import Organization

pytestmark = pytest.mark.django_db


class _CountingHandler(BaseHTTPRequestHandler):
    """Counts connections (one handler per connection) and requests, sets a cookie on every
    answer and echoes the Cookie header it received (the Authorization header on /reflect). `close` makes it close every connection."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self):  # noqa: N802
        with self.server.lock:
            self.server.requests += 1
        reflected = "Authorization" if self.path.startswith("/reflect") else "Cookie"
        body = (self.headers.get(reflected) or "").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "session=tenant-a-secret; Path=/")
        self.send_header("Content-Length", str(len(body)))
        if self.server.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True  # plain http to 127.0.0.1
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    httpd.daemon_threads = True
    httpd.lock = threading.Lock()
    httpd.connections = httpd.requests = 0
    httpd.close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def key_auth(tenant, base_url, organization=None) -> Authentication:
    service = custom_service(tenant, base_url=base_url)
    return Authentication.objects.create(
        organization=organization or tenant.organization,
        workspace=service.workspace,
        service=service,
        name="k",
        api_key="secret-key-123",
    )


def test_calls_reuse_one_connection(tenant, api_server):
    auth = key_auth(tenant, f"http://127.0.0.1:{api_server.server_port}")
    for _ in range(3):
        assert http_request(authentication=auth, method="GET", path_or_url="/").status == 200
    assert (api_server.requests, api_server.connections) == (3, 1)


def test_no_cookie_is_kept_from_one_call_to_the_next(tenant, api_server):
    auth = key_auth(tenant, f"http://127.0.0.1:{api_server.server_port}")
    first = http_request(authentication=auth, method="GET", path_or_url="/")
    second = http_request(authentication=auth, method="GET", path_or_url="/")
    assert first.headers["Set-Cookie"].startswith("session=")
    assert second.body == b""  # no Cookie header came back
    policy = EgressPolicy.for_organization(tenant.organization)
    assert len(pooled_http_session(policy=policy, follow_redirects=True, total=30.0).cookies) == 0


def test_another_organization_policy_does_not_share_the_pool(tenant, other_tenant, api_server):
    base_url = f"http://127.0.0.1:{api_server.server_port}"
    Organization.objects.filter(pk=tenant.organization.pk).update(
        onprem_allowed_hosts=["erp.internal.example"]
    )
    tenant.organization.refresh_from_db()
    allow_listed = key_auth(tenant, base_url)
    plain = key_auth(other_tenant, base_url)
    policies = [EgressPolicy.for_organization(a.organization) for a in (allow_listed, plain)]
    assert policies[0] != policies[1]

    for auth in (allow_listed, plain, allow_listed, plain):
        assert http_request(authentication=auth, method="GET", path_or_url="/").status == 200
    # One connection per policy: the allow-listed organization's pool serves it alone.
    assert (api_server.requests, api_server.connections) == (4, 2)


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new connection", "pooled connection"])
def test_a_name_that_moves_to_an_internal_address_is_refused(
    tenant, api_server, hosts, monkeypatch, keep_alive
):
    """DNS rebinding: the name was checked and connected to once; after it points at the metadata
    address the next request is refused before any socket opens, whether a keep-alive connection
    to the old address is pooled or the server closed it."""
    api_server.close = not keep_alive
    hosts({"api.rebind.example": ["127.0.0.1"]})
    auth = key_auth(tenant, f"http://api.rebind.example:{api_server.server_port}")
    assert http_request(authentication=auth, method="GET", path_or_url="/").status == 200

    opened = []
    real_create_connection = urllib3.util.connection.create_connection

    def record(address, *args, **kwargs):
        opened.append(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", record)
    hosts({"api.rebind.example": ["169.254.169.254"]})
    with pytest.raises(RuleViolation) as refused:
        http_request(authentication=auth, method="GET", path_or_url="/")
    assert "not a public host" in refused.value.message
    assert opened == []
    assert api_server.requests == 1

    hosts({"api.rebind.example": ["127.0.0.1"]})  # back: a new connection, checked again
    assert http_request(authentication=auth, method="GET", path_or_url="/").status == 200
    assert api_server.connections == (1 if keep_alive else 2)


def test_each_thread_has_its_own_session(tenant, api_server):
    policy = EgressPolicy(allow_insecure_local=True)
    mine = pooled_http_session(policy=policy)
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(pooled_http_session(policy=policy)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine
    assert pooled_http_session(policy=policy) is mine


def test_a_changed_credential_is_redacted_from_the_next_answer(tenant, api_server):
    """What to redact is kept between calls (connections/http_client.py, _revealed): a new
    secret must be redacted as soon as it is used."""
    auth = key_auth(tenant, f"http://127.0.0.1:{api_server.server_port}")
    first = http_request(authentication=auth, method="GET", path_or_url="/reflect")
    assert b"secret-key-123" not in first.body and b"[redacted]" in first.body

    auth.api_key = Sealed.seal("another-secret-key-456")
    auth.save(update_fields=["api_key"])
    second = http_request(authentication=auth, method="GET", path_or_url="/reflect")
    assert b"another-secret-key-456" not in second.body and b"[redacted]" in second.body
