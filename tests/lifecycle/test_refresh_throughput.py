"""What made the refresh path fast must not cost a guarantee (docs/lifecycle.md §8):

- the scheduled refresh is one transaction of few statements, the rescheduling included;
- the pooled token session re-checks the destination address on every request (not once per
  keep-alive connection) and never carries a cookie from one call to the next;
- the worker keeps its database connection between tasks when CONN_MAX_AGE says so (Celery's
  Django fixup alone closes it around every task) and still closes it when CONN_MAX_AGE is 0.
"""

import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auths.models import Authentication
from config.celery_app import connections_around_task
from connections.password_grant import authentication_create_password
from events.models import AuthEvent
from infrastructure.egress import EgressPolicy, EgressRefused, pooled_http_session
from lifecycle.policy import refresh_attempt
from lifecycle.scheduling import refresh_due_at_for
from lifecycle.tasks import refresh_authentication
from tests.connections.helpers import oauth2_service


@pytest.mark.django_db
def test_a_scheduled_refresh_is_one_short_transaction(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, grant_type="password")
    auth = authentication_create_password(
        actor=tenant.actor(tenant.contributor),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )
    old_refresh = auth.refresh_token.reveal()
    hour_ago = timezone.now() - timedelta(hours=1)
    Authentication.objects.filter(pk=auth.pk).update(
        last_refreshed_at=hour_ago,
        refresh_token_issued_at=hour_ago,
        access_token_expires_at=timezone.now() + timedelta(seconds=30),
        refresh_due_at=timezone.now() - timedelta(seconds=1),
        last_refresh_failed_at=timezone.now() - timedelta(hours=1),
    )

    with CaptureQueriesContext(connection) as queries:
        assert refresh_attempt(authentication_id=auth.pk).result == "refreshed"

    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # lock + read, one fenced UPDATE (credentials AND rescheduling), the event, the webhook lookup
    assert statements.count("UPDATE") == 1, statements
    assert len(statements) <= 7, statements
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.version == auth.version + 1
    assert stored.refresh_token.reveal() != old_refresh  # rotated, in the same transaction
    assert stored.last_refresh_failed_at is None
    assert stored.refresh_due_at == refresh_due_at_for(stored)
    assert stored.refresh_due_at > timezone.now()
    assert AuthEvent.objects.filter(authentication=auth, kind="refreshed").count() == 1


class _CookieServer(BaseHTTPRequestHandler):
    """Sets a cookie on every answer and echoes the Cookie header it received."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "session=tenant-a-secret; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cookie_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _CookieServer)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@dataclass(frozen=True)
class LoopbackIsPublic(EgressPolicy):
    """The production address rule, except that 127.0.0.1 stands in for a public address (the
    test server is on loopback)."""

    def address_allowed(self, hostname: str, ip) -> bool:
        return str(ip) == "127.0.0.1"


def test_pooled_session_rechecks_the_address_on_every_request(cookie_server, monkeypatch):
    answers = {"provider.example": "127.0.0.1"}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    policy = LoopbackIsPublic(allow_insecure_local=True)  # http to the test server
    url = f"http://provider.example:{cookie_server}/token"
    session = pooled_http_session(policy=policy)
    assert session.post(url, data={"a": "1"}).status_code == 200
    assert pooled_http_session(policy=policy) is session  # pooled per thread and policy
    assert session.post(url, data={"a": "2"}).status_code == 200
    pools = list(session.get_adapter(url).poolmanager.pools._container.values())
    assert [pool.num_connections for pool in pools] == [1]  # keep-alive: one connection

    answers["provider.example"] = "10.0.0.1"  # DNS rebinding after the connection was approved
    with pytest.raises(EgressRefused):
        session.post(url, data={"a": "3"})


def test_pooled_session_never_sends_a_cookie_it_was_given(cookie_server):
    policy = EgressPolicy(allow_insecure_local=True)
    url = f"http://127.0.0.1:{cookie_server}/token"
    first = pooled_http_session(policy=policy).post(url, data={})
    second = pooled_http_session(policy=policy).post(url, data={})
    assert first.headers["Set-Cookie"].startswith("session=")
    assert second.content == b""  # no Cookie header came back
    assert len(pooled_http_session(policy=policy).cookies) == 0


def test_a_forked_child_does_not_reuse_the_parents_pooled_session():
    policy = EgressPolicy(allow_insecure_local=True)
    # Hold the parent's session (not only its id): freed in the child, its address could be reused.
    parent_session = pooled_http_session(policy=policy)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got the parent's session object, then leave
        try:
            os.write(
                write,
                b"same" if pooled_http_session(policy=policy) is parent_session else b"own",
            )
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"own"


@pytest.mark.django_db(transaction=True)
def test_worker_keeps_its_connection_between_tasks_only_when_configured(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    connection.close()
    connection.ensure_connection()
    kept = connection.connection
    connections_around_task(task=refresh_authentication)
    connections_around_task(task=refresh_authentication)
    assert Authentication.objects.count() == 0
    assert connection.connection is kept

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    connection.ensure_connection()
    connections_around_task(task=refresh_authentication)
    assert connection.connection is None
