"""Every outbound HTTP request the platform makes goes through a session built here: token calls,
OAuth1 calls, API calls through the HTTP client, webhooks. A test forbids bare `requests` calls
and OAuth sessions anywhere else.

Guards, all of them on every session:
- timeouts always (requests and requests-oauthlib default to none), and a TOTAL deadline on every
  call: per-read timeouts alone let a server that sends a byte every few seconds hold a worker
  for as long as it likes. A watchdog thread shuts the socket down when the deadline passes, and
  the call fails with DeadlineExceeded. `with deadline(seconds):` bounds every call inside it
  (nested deadlines: the earliest wins), e.g. the HTTP-client endpoint across refresh and replay;
- https only, unless EGRESS_ALLOW_INSECURE_LOCAL (local development);
- the destination address is checked at connect time, on the address actually connected to (no
  DNS-rebinding window): private, loopback, link-local, CGNAT, multicast, unspecified, NAT64,
  6to4, Teredo and metadata addresses are refused unless the host is on the organization's
  on-prem allow-list (private networks only). The development switch EGRESS_ALLOW_INSECURE_LOCAL
  allows plain http and loopback/private-network addresses (LOCAL_DEVELOPMENT_NETWORKS), never
  link-local or metadata addresses;
- token calls never follow redirects; API calls follow at most 3, same host only, so credentials
  (Authorization or a custom header or query parameter) never reach another host;
- response bodies are capped.
"""

import heapq
import http.cookiejar
import ipaddress
import itertools
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_oauthlib import OAuth1, OAuth1Session
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_TIMEOUT = (5.0, 20.0)  # connect, read (seconds)
DEFAULT_DEADLINE = 30.0  # seconds for a whole call: connect, send, headers and body
DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_API_REDIRECTS = 3

# Ranges Python's ipaddress does not call private but that reach internal networks or wrap internal
# addresses (the same list as requests-hardened's EXTRA_BLOCKED_NET_RANGES, plus Teredo).
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # CGNAT (Alibaba metadata 100.100.100.200 lives here)
        "192.0.0.0/24",
        "192.88.99.0/24",
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "2001:20::/28",
        "5f00::/16",
        "3fff::/20",
        "fd00:ec2::/32",  # AWS IPv6 metadata
    )
)


class EgressRefused(requests.RequestException):
    """An outbound request the platform will not make; the message says why."""


class ResponseTooLarge(requests.RequestException):
    pass


class DeadlineExceeded(requests.Timeout):
    """The call did not complete within its total deadline; the connection was cut."""


# --- total deadlines -------------------------------------------------------------------------


class _Watchdog:
    """One daemon thread that shuts sockets down when their deadline passes. Cheap per call: a heap
    push, and a wake-up of the thread only when the new deadline comes before the one it sleeps
    until (a wake-up per call would hand the GIL to this thread on every request)."""

    def __init__(self):
        self._lock = threading.Condition()
        self._heap: list = []
        self._order = itertools.count()
        self._thread = None
        self._wakes_at = float("inf")  # when the thread looks at the heap next

    def watch(self, when: float, watch: "_CallWatch") -> None:
        with self._lock:
            # Finished calls are dropped here too, not only by the thread (which now sleeps until
            # the earliest deadline), so a busy thread's heap holds its calls in flight.
            while self._heap and self._heap[0][2].finished:
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (when, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="egress-deadlines")
                self._thread.daemon = True
                self._thread.start()
            if when < self._wakes_at:
                self._wakes_at = when  # until the thread sets it from the heap
                self._lock.notify()

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wakes_at = float("inf")
                    self._lock.wait()
                    continue
                when = self._heap[0][0]
                remaining = when - time.monotonic()
                if remaining > 0:
                    self._wakes_at = when
                    self._lock.wait(timeout=remaining)
                    continue
                _, _, watch = heapq.heappop(self._heap)
                watch.expire()


_watchdog = _Watchdog()
_context = threading.local()


def _forget_watchdog() -> None:
    """A forked child (Celery prefork, gunicorn) does not inherit the parent's thread."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_forget_watchdog)


class _CallWatch:
    """The deadline of one call and the sockets it uses; expire() cuts them."""

    def __init__(self, until: float):
        self.until = until
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.finished = False
        self._lock = threading.Lock()

    def guard(self, sock) -> None:
        if sock is None:
            return
        with self._lock:
            self.sockets.append(sock)
            expired = self.expired
        if expired:
            _cut(sock)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _cut(sock)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self.sockets = []  # a pooled socket outlives the call: hold no reference to it


def _cut(sock) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops the TLS object that
    # the reading thread is using; shutting the descriptor down makes its read return at once.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def current_deadline() -> float | None:
    """The monotonic time by which the calls of this thread must end, if a deadline is set."""
    stack = getattr(_context, "deadlines", None)
    return stack[-1] if stack else None


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every outbound call inside the block ends within `seconds` (or sooner, if an enclosing
    deadline says so). Yields the absolute monotonic deadline."""
    stack = getattr(_context, "deadlines", None)
    if stack is None:
        stack = _context.deadlines = []
    until = time.monotonic() + seconds
    if stack:
        until = min(until, stack[-1])
    stack.append(until)
    try:
        yield until
    finally:
        stack.pop()


def seconds_left() -> float | None:
    until = current_deadline()
    return None if until is None else until - time.monotonic()


class _DeadlineConnectionMixin:
    """Hands every socket a call uses to that call's watch, when it connects and when it reads."""

    def connect(self):
        super().connect()
        _guard_socket(self.sock)

    def getresponse(self, *args, **kwargs):
        _guard_socket(self.sock)
        return super().getresponse(*args, **kwargs)


def _guard_socket(sock) -> None:
    watch = getattr(_context, "watch", None)
    if watch is not None:
        watch.guard(sock)


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast addresses that wrap no internal address."""
    if ip.version == 6:
        inner = _embedded_ipv4(ip)
        if inner is not None and not address_is_public(inner):
            return False
    if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    return not any(ip in network for network in BLOCKED_NETWORKS)


METADATA_ADDRESSES = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.169.254/32", "100.100.100.200/32", "fd00:ec2::/32", "169.254.170.2/32")
)


def address_is_onprem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """What an allow-listed on-prem host may resolve to: a private network address (RFC 1918,
    unique-local, CGNAT), never loopback, link-local, cloud metadata or an unspecified address —
    the tenant controls the name, so the allow-list must not become a way into the platform."""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return False
    if any(ip in network for network in METADATA_ADDRESSES):
        return False
    return address_is_public(ip) or ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10")


# What the development switch (settings.EGRESS_ALLOW_INSECURE_LOCAL) adds to the public addresses:
# this machine and the private networks a developer's own services run on. Nothing else: link-local
# (169.254.0.0/16, fe80::/10), cloud metadata, CGNAT, unspecified and multicast addresses stay
# refused whatever the switch says.
LOCAL_DEVELOPMENT_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",  # loopback
        "::1/128",
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",  # IPv6 unique-local
    )
)


def address_is_local_development(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback or a private network address (RFC 1918, unique-local), never a metadata address."""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in network for network in METADATA_ADDRESSES):
        return False
    return any(ip in network for network in LOCAL_DEVELOPMENT_NETWORKS)


@dataclass(frozen=True)
class EgressPolicy:
    """What one organization's outbound traffic may reach."""

    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allow_insecure_local: bool = False

    @classmethod
    def for_organization(cls, organization) -> "EgressPolicy":
        hosts = getattr(organization, "onprem_allowed_hosts", None) or []
        return cls(
            allowed_hosts=frozenset(h.lower() for h in hosts),
            allow_insecure_local=settings.EGRESS_ALLOW_INSECURE_LOCAL,
        )

    def address_allowed(self, hostname: str, ip) -> bool:
        if hostname.lower() in self.allowed_hosts and address_is_onprem(ip):
            return True
        if self.allow_insecure_local and address_is_local_development(ip):
            return True
        return address_is_public(ip)

    def check_url(self, url: str) -> None:
        """Refuse a URL by its form (scheme, missing host). Addresses are checked at connect time."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise EgressRefused(f"Only https URLs are called (got '{parts.scheme}:').")
        if parts.scheme == "http" and not self.allow_insecure_local:
            raise EgressRefused(
                "Only https URLs are called; plain http is for local development only."
            )
        if not parts.hostname:
            raise EgressRefused("The URL has no host.")

    def resolve(self, hostname: str, port: int) -> str:
        """Resolve the host and return the address to connect to, refusing internal addresses.

        Every resolved address must be public, not just the first: a name that resolves to a mix
        would otherwise let the resolver choose.
        """
        try:
            addresses = resolve_host(hostname, port)
        except socket.gaierror as error:
            raise requests.ConnectionError(f"Cannot resolve {hostname}: {error}") from None
        if not all(self.address_allowed(hostname, ip) for ip in addresses):
            # Never say what the name resolves to: that would map internal names for a tenant.
            raise EgressRefused(
                f"{hostname} is not a public host, so the platform does not call it; if it is "
                "an on-prem system on a private network, ask an organization owner to "
                "allow-list it."
            )
        first = addresses[0]
        return f"[{first}]" if first.version == 6 else str(first)


# --- name resolution -------------------------------------------------------------------------
# One resolver for the connect-time check above and for the early check of a service definition
# (services/validation.py). It is a setting so that tests answer from a table instead of waiting on
# DNS (EGRESS_RESOLVER = "tests.resolver.resolve"); production uses the system resolver.


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system gives for `host`; socket.gaierror when there are none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


@lru_cache(maxsize=4)
def _resolver(path: str):
    return import_string(path)


def resolve_host(host: str, port: int = 443) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address `host` stands for, through settings.EGRESS_RESOLVER. Raises socket.gaierror
    when it does not resolve."""
    found = _resolver(settings.EGRESS_RESOLVER)(host, port)
    addresses = []
    for address in found:
        try:
            addresses.append(ipaddress.ip_address(str(address).split("%")[0]))
        except ValueError:
            continue
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no usable address")
    return addresses


class GuardedAdapter(HTTPAdapter):
    """Connects to the address the policy approved, keeping the hostname for Host, SNI and
    certificate checks (the technique of requests-hardened's IPFilterAdapter)."""

    def __init__(self, policy: EgressPolicy, is_https: bool):
        super().__init__()
        self.policy = policy
        self.is_https = is_https

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        # Connections that hand their sockets to the call's deadline watch.
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPConnectionPool,
            "https": _DeadlineHTTPSConnectionPool,
        }

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        request.headers = CaseInsensitiveDict(request.headers or {})
        hostname = host_params["host"]
        port = host_params["port"] or (443 if self.is_https else 80)
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if host_params["port"] is not None:
            host_header += f":{host_params['port']}"
        request.headers["Host"] = host_header
        if self.is_https:
            pool_kwargs["assert_hostname"] = hostname
            pool_kwargs["server_hostname"] = hostname
        host_params["host"] = self.policy.resolve(hostname, port)
        return host_params, pool_kwargs

    def get_connection(self, url, proxies=None):  # pragma: no cover - deprecated API
        raise NotImplementedError("Use get_connection_with_tls_context (requests >= 2.32.2).")


class _GuardedMixin:
    """Shared by the plain and OAuth1 sessions."""

    def _guard(
        self,
        policy: EgressPolicy,
        *,
        follow_redirects: bool,
        max_bytes: int,
        timeout,
        total: float = DEFAULT_DEADLINE,
    ):
        self.policy = policy
        self.follow_redirects = follow_redirects
        self.max_bytes = max_bytes
        self.default_timeout = timeout
        self.total_deadline = total
        self.max_redirects = MAX_API_REDIRECTS
        self.trust_env = False  # no proxies or .netrc credentials from the environment
        self.mount("https://", GuardedAdapter(policy, is_https=True))
        self.mount("http://", GuardedAdapter(policy, is_https=False))

    def send(self, request, **kwargs):
        # Guards sit on send(), not request(): every hop of a redirect and any prepared request
        # passes here.
        self.policy.check_url(request.url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if not self.follow_redirects:
            kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        with deadline(self.total_deadline) as until:
            if until <= time.monotonic():
                raise DeadlineExceeded("The deadline for this call had already passed.")
            outer = getattr(_context, "watch", None)
            watch = _context.watch = _CallWatch(until)
            _watchdog.watch(until, watch)
            try:
                response = super().send(request, **kwargs)
                if not response._content_consumed:
                    _read_capped(response, self.max_bytes)
                if watch.expired:  # cut after the last byte arrived: a body without a length
                    raise DeadlineExceeded(
                        f"No complete answer within {self.total_deadline:g} s; the call was cut."
                    )
            except (requests.RequestException, OSError) as error:
                if watch.expired and not isinstance(
                    error, EgressRefused | ResponseTooLarge | DeadlineExceeded
                ):
                    raise DeadlineExceeded(
                        f"No complete answer within {self.total_deadline:g} s; the call was cut."
                    ) from None
                raise
            finally:
                watch.finish()
                _context.watch = outer
        return response

    def get_redirect_target(self, response):
        # requests asks for the redirect target even when redirects are off (to fill
        # Response.next) and then reads the redirect's body with no limit: say "no redirect"
        # before that happens when redirects are not followed.
        if not self.follow_redirects:
            return None
        target = super().get_redirect_target(response)
        if target is None:
            return None
        # Same origin only (scheme, host and port): credentials may sit in a custom header or query
        # parameter that requests would forward. Any other redirect is returned, not followed.
        location = requests.compat.urljoin(response.url, target)
        if _origin(location) != _origin(response.url):
            return None
        self.policy.check_url(location)
        # requests consumes each redirect response's body before following it: cap it first.
        if not response._content_consumed:
            _read_capped(response, self.max_bytes)
        return target


def _origin(url: str) -> tuple | None:
    """(scheme, host, port), or None for a URL whose port is not a port (`:abc`, `:65536`):
    never the origin of anything, so a redirect there is not followed."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    return (parts.scheme, parts.hostname, port or {"https": 443, "http": 80}.get(parts.scheme))


def _read_capped(response: requests.Response, max_bytes: int) -> None:
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body.extend(chunk)
        if len(body) > max_bytes:
            response.close()
            raise ResponseTooLarge(f"Response larger than {max_bytes} bytes; refused.")
    response._content = bytes(body)
    response._content_consumed = True


class GuardedSession(_GuardedMixin, requests.Session):
    pass


class GuardedOAuth1Session(_GuardedMixin, OAuth1Session):
    pass


def http_session(
    *,
    policy: EgressPolicy,
    follow_redirects: bool = False,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    timeout=DEFAULT_TIMEOUT,
    total: float = DEFAULT_DEADLINE,
) -> GuardedSession:
    """A guarded session: `timeout` is (connect, read) per socket operation, `total` the deadline
    of a whole call."""
    session = GuardedSession()
    session._guard(
        policy,
        follow_redirects=follow_redirects,
        max_bytes=max_bytes,
        timeout=timeout,
        total=total,
    )
    return session


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A pooled session serves many organizations: it must never keep a cookie from one call and
    send it with the next."""

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False


_pooled = threading.local()
POOLED_SESSIONS_PER_THREAD = 16


def _forget_pooled_sessions() -> None:
    """In a forked child (Celery prefork, gunicorn): never share the parent's pooled
    connections; the child builds its own on first use."""
    global _pooled
    _pooled = threading.local()


os.register_at_fork(after_in_child=_forget_pooled_sessions)


def pooled_http_session(
    *,
    policy: EgressPolicy,
    follow_redirects: bool = False,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    timeout=DEFAULT_TIMEOUT,
    total: float = DEFAULT_DEADLINE,
) -> GuardedSession:
    """A GuardedSession kept per thread and per (policy, redirects, limits), for repeated one-shot
    calls: token requests (auths/tokens.py) and API calls (connections/http_client.py). Reusing it
    keeps its adapters and connection pool, so a provider's connection is reused (HTTP
    keep-alive) instead of a new Session, two adapters and a TCP/TLS handshake per call. Do not
    close it.

    The guards are those of http_session, per request: the URL check in send(), and the address
    check at connect time: GuardedAdapter.build_connection_pool_key_attributes resolves and checks
    the host on EVERY request and keys the connection pool by the approved address, so a new
    connection goes only to an address that was just checked, and a pooled connection is only
    reused for an address that passed the check again. The deadline watch takes each request's
    socket, pooled or new (_DeadlineConnectionMixin.getresponse). Organizations share a session
    only when their policies are equal (the key is the policy itself, so an on-prem allow-list
    never serves another organization). Cookies are never stored; credentials (auth, headers,
    query) are passed per request, never set on the session.
    """
    sessions = getattr(_pooled, "sessions", None)
    if sessions is None:
        sessions = _pooled.sessions = OrderedDict()
    key = (policy, follow_redirects, max_bytes, timeout, total)
    session = sessions.get(key)
    if session is None:
        session = http_session(
            policy=policy,
            follow_redirects=follow_redirects,
            max_bytes=max_bytes,
            timeout=timeout,
            total=total,
        )
        session.cookies.set_policy(_NoCookies())
        sessions[key] = session
        while len(sessions) > POOLED_SESSIONS_PER_THREAD:
            sessions.popitem(last=False)[1].close()
    else:
        sessions.move_to_end(key)
    return session


def oauth1_signer(
    *, client_key: str, client_secret: str | None, resource_owner_key, resource_owner_secret
) -> OAuth1:
    """requests-oauthlib's OAuth 1.0a signer, passed per request (`auth=`) to a pooled session:
    the same signing an OAuth1Session does, without a session per call."""
    return OAuth1(
        client_key,
        client_secret=client_secret,
        resource_owner_key=resource_owner_key,
        resource_owner_secret=resource_owner_secret,
    )


def oauth1_session(
    *, policy: EgressPolicy, timeout=DEFAULT_TIMEOUT, total: float = DEFAULT_DEADLINE, **kwargs
) -> GuardedOAuth1Session:
    session = GuardedOAuth1Session(**kwargs)
    session._guard(
        policy,
        follow_redirects=False,
        max_bytes=DEFAULT_MAX_RESPONSE_BYTES,
        timeout=timeout,
        total=total,
    )
    return session
