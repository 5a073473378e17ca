"""Every outbound call has a total deadline, not only per-read timeouts: a server that drips one
byte at a time can no longer hold a worker (issue 10, §6)."""

import ast
import socket
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as settings_module
from django.urls import reverse

from connections.authentications import authentication_delete
from connections.client_credentials import authentication_create_client_credentials
from events.models import WebhookDelivery
from events.recording import event_record
from events.tasks import deliver_email
from events.webhooks import deliveries_create, webhook_delivery_attempt
from infrastructure.egress import DeadlineExceeded, EgressPolicy, deadline, http_session
from infrastructure.errors import UpstreamError
from lifecycle.refresh import TransientRefreshError, authentication_refresh
from tests.connections.helpers import browser, custom_service, org_kwargs
from tests.lifecycle.factories import make_auth, make_service, make_webhook


class DripServer:
    """Answers every request slowly: the status line at once, then one byte every `interval`
    seconds, forever (or only slow headers, with `drip_headers`)."""

    def __init__(self, *, interval=0.2, drip_headers=False):
        self.interval = interval
        self.drip_headers = drip_headers
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: "
            conn.sendall(head if self.drip_headers else head + b"1\r\nConnection: close\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b"a")
                time.sleep(self.interval)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.fixture
def drip(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    servers = []

    def make(**kwargs):
        server = DripServer(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.mark.parametrize("drip_headers", [False, True])
def test_a_dripping_server_is_cut_at_the_total_deadline(drip, drip_headers):
    server = drip(drip_headers=drip_headers)
    session = http_session(policy=EgressPolicy(allow_insecure_local=True), total=1.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        session.get(server.url)
    assert time.monotonic() - started < 3.0  # per-read timeouts (20 s) never fired


def test_an_enclosing_deadline_bounds_every_call_inside_it(drip):
    server = drip()
    session = http_session(policy=EgressPolicy(allow_insecure_local=True), total=30.0)
    started = time.monotonic()
    with deadline(0.8), pytest.raises(DeadlineExceeded):
        session.get(server.url)
    assert time.monotonic() - started < 2.5
    with deadline(0.0), pytest.raises(DeadlineExceeded):  # already spent: nothing is sent
        session.get(server.url)


def test_a_quick_answer_is_not_disturbed(server):
    session = http_session(policy=EgressPolicy(allow_insecure_local=True), total=5.0)
    for _ in range(3):  # the pooled connection is reused across calls
        assert session.get(server.base_url + "/control/health").status_code == 200


@pytest.mark.django_db
def test_an_http_client_call_has_one_deadline_for_everything(drip, tenant, settings):
    from auths.models import Authentication
    from connections.http_client import http_request
    from infrastructure.errors import UpstreamError
    from tests.connections.helpers import custom_service

    settings.HTTP_CLIENT_DEADLINE_SECONDS = 1.0
    server = drip()
    service = custom_service(tenant, base_url=server.url.rstrip("/"))
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="drip",
        api_key="drip-key-123456",
    )
    started = time.monotonic()
    with pytest.raises(UpstreamError) as failed:
        http_request(authentication=auth, method="GET", path_or_url="/slow")
    assert time.monotonic() - started < 3.0
    assert "in time" in failed.value.message


# --- every outbound path, one by one (issue 11, item 6) ------------------------------------------
# A path is covered when a provider, a webhook receiver or an API that never finishes answering
# ends the call with the deadline's own error: the drip server never completes a response, so a
# path without a total deadline would hang here instead of failing.

CUT = "the call was cut"  # the watchdog's words (infrastructure/egress.py)
TOKEN_CUT = "did not answer within 1 s"  # a token call's, which may have been processed


def _refresh(tenant, url):
    service = make_service(token_url=url, token_request_timeout=1)
    auth = make_auth(tenant, service)
    with pytest.raises(TransientRefreshError) as failed:
        authentication_refresh(authentication_id=auth.pk, force=True)
    return failed.value.description


def _client_credentials(tenant, url):
    service = custom_service(
        tenant,
        auth_scheme="oauth2",
        grant_type="client_credentials",
        token_url=url,
        client_id="cid",
        client_secret="client-secret-123",
        token_request_timeout=1,
    )
    with pytest.raises(UpstreamError) as failed:
        authentication_create_client_credentials(actor=tenant.actor(tenant.owner), service=service)
    return failed.value.message


def _revocation(tenant, url):
    service = make_service(revoke_url=url, token_request_timeout=1)
    auth = make_auth(tenant, service)
    result = authentication_delete(actor=tenant.actor(tenant.owner), authentication=auth)
    return result["revocation_error"]


def _oauth1_request_token(tenant, url):
    service = custom_service(
        tenant,
        auth_scheme="oauth1",
        discouraged_acknowledged=True,
        request_token_url=url,
        authorize_url=url,
        token_url=url,
        client_id="consumer-key",
        client_secret="consumer-secret-123",
        token_request_timeout=1,
    )
    response = browser(tenant.owner).post(
        reverse("authentication-oauth-start", kwargs=org_kwargs(tenant)),
        {"service": str(service.pk)},
        content_type="application/json",
    )
    return response.json()["error"]["message"]


def _webhook(tenant, url, settings):
    settings.NOTIFICATION_DEADLINE_SECONDS = 1.0
    auth = make_auth(tenant)
    make_webhook(tenant, url=url)
    event = event_record(authentication=auth, kind="expiring", announce=False)
    delivery_ids = deliveries_create(event=event)
    webhook_delivery_attempt(delivery_id=delivery_ids[0])
    return WebhookDelivery.objects.get(pk=delivery_ids[0]).last_error


PATHS = {
    "refresh": (_refresh, TOKEN_CUT),
    "client credentials exchange": (_client_credentials, TOKEN_CUT),
    "revocation": (_revocation, TOKEN_CUT),
    "OAuth 1.0a request token": (_oauth1_request_token, CUT),
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_every_outbound_path_is_cut_at_its_deadline(drip, tenant, path):
    call, said = PATHS[path]
    assert said in call(tenant, drip().url)


@pytest.mark.django_db
def test_a_webhook_delivery_is_cut_at_its_deadline(drip, tenant, settings):
    assert CUT in _webhook(tenant, drip().url, settings)


def test_email_is_sent_by_a_task_with_a_time_limit():
    """SMTP has per-operation timeouts (EMAIL_TIMEOUT); the task's time limit bounds the whole."""
    assert deliver_email.soft_time_limit and deliver_email.time_limit


OUTBOUND = {"requests", "urllib3", "socket", "http.client", "urllib.request", "httpx", "smtplib"}
CALL_ALLOWED = {"infrastructure/egress.py"}


def test_only_the_egress_module_opens_connections():
    """Every other module goes through infrastructure.egress (whose sessions carry a total
    deadline) or Django's mail (sent by a task with a time limit): it may name exceptions of the
    HTTP libraries, never call them."""
    offenders = []
    root = Path(__file__).resolve().parents[2]
    for app in settings_module.LOCAL_APPS:
        for path in (root / app).rglob("*.py"):
            relative = str(path.relative_to(root))
            if "migrations" in relative or relative in CALL_ALLOWED:
                continue
            tree = ast.parse(path.read_text())
            aliases = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for name in node.names:
                        if name.name in OUTBOUND or name.name.split(".")[0] in OUTBOUND:
                            aliases[name.asname or name.name.split(".")[0]] = name.name
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in aliases
                    and not node.func.attr.startswith("inet_")  # address parsing, no I/O
                ):
                    offenders.append(f"{relative}:{node.lineno} calls {ast.unparse(node.func)}")
    assert offenders == []
