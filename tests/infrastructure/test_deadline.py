"""Every outbound call has a total deadline, not only per-read timeouts: a server that drips one
byte at a time can no longer hold a worker (issue 10, §6)."""

import socket
import threading
import time

import pytest

from infrastructure.egress import DeadlineExceeded, EgressPolicy, deadline, http_session


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
