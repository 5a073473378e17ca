"""The fault suite, one command (PostgreSQL, Redis and the loopback OAuth server; about 6 minutes):

    .venv/bin/python -m bench.faults                 # 4 minutes of load
    .venv/bin/python -m bench.faults --minutes 10

Everything at once, against a real Celery worker (prefork, 8 processes, both queues), beat (a scan
every 5 s) and the web server (gunicorn), each provider a separate django-oauth-toolkit server:

- healthy: 100 auths with 60-second access tokens, rotating refresh tokens, and the 60 s reuse
  grace period that Xero and django-oauth-toolkit offer (a refresh whose answer was lost can be
  retried once with the old token);
- slow: 10 auths on a token endpoint that answers in 40 s;
- html: 10 auths on a token endpoint that answers an HTML 502 page;
- flaky: 10 auths on a token endpoint that fails with 503 three times every 20 s;
- no_expires_in: 10 auths whose token responses carry no expires_in (service default: 60 s);
- no_refresh_token: 10 auths whose refreshes bring no new refresh token (the provider does not
  rotate them, as Google does not);
- race: 50 auths with 30-second tokens, hammered by 8 concurrent HTTP-client callers through the
  API while the worker refreshes them too;
- doomed: 20 auths (20-second tokens) deleted through the API while their refreshes run;
- 5 SIGKILLs of the worker's pool processes, spread over the run.

It prints a Markdown table: token requests per auth and per token lifetime, what the backoff
schedule allows the failing providers, healthy auths ever seen with an expired token, auths lost,
false flags and 5xx answers. The README records the latest run.
"""

import argparse
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="

PROVIDERS = {
    # name: (auths, access-token seconds, reuse grace seconds, permanent fault)
    "healthy": (100, 60, 60, None),
    "slow": (10, 60, 60, "slow:40"),
    "html": (10, 60, 0, "html:502"),
    "flaky": (10, 60, 60, None),  # 503 bursts set by the harness
    "no_expires_in": (10, 60, 60, "no_expires_in"),
    "no_refresh_token": (10, 60, 60, "no_refresh_token"),
    "race": (50, 30, 60, None),
    "doomed": (20, 30, 60, None),
}
CALLERS = 8
HEALTHY_GROUPS = ("healthy", "race", "no_expires_in", "no_refresh_token")


def configure(args) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=f"{args.postgres.rstrip('/')}/{args.database}",
        REDIS_URL=args.redis,
        EGRESS_ALLOW_INSECURE_LOCAL="True",
        DJANGO_LOG_LEVEL="WARNING",
        REFRESH_SCAN_SECONDS="5",
        EXPIRY_EVALUATION_SECONDS="60",
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", FERNET_TEST_KEY)
    import psycopg

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    import redis

    redis.Redis.from_url(args.redis).flushdb()


def start_providers(workdir: Path) -> dict:
    from tests.oauth_server.fixture import OAuthServer

    servers = {}
    for name, (_, lifetime, grace, _) in PROVIDERS.items():
        server = OAuthServer.start(workdir / name)
        server.update_settings(
            access_token_seconds=lifetime,
            refresh_token_grace_seconds=grace,
            rotate_refresh_tokens=name != "no_refresh_token",
        )
        servers[name] = server
    return servers


def arm_faults(servers: dict) -> None:
    for name, (_, _, _, fault) in PROVIDERS.items():
        if fault:
            servers[name].set_fault(fault, grant_type="refresh_token")


def make_auths(servers: dict) -> tuple[dict, object]:
    """Services and auths holding real tokens; returns ({group: [auth ids]}, organization)."""
    from django.utils import timezone

    from auths.models import Authentication
    from lifecycle import state
    from services.models import Service
    from workspaces.models import User, Workspace, WorkspaceKind
    from workspaces.organizations import organization_create

    owner = User.objects.create_user(email="faults-owner@example.com")
    organization = organization_create(name="Faults", slug="faults", owner=owner)
    workspace = Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION)
    groups = {}
    for name, server in servers.items():
        count, lifetime, _, _ = PROVIDERS[name]
        user = server.create_user(f"owner-{name}")
        client = server.create_application(grant_type="password")
        service = Service(
            source="connector",
            slug=f"faults-{name}",
            name=f"Provider {name}",
            auth_scheme="oauth2",
            grant_type="authorization_code",
            token_url=server.token_url,
            base_url=server.base_url + "/api",
            client_id=client["client_id"],
            rotates_refresh_tokens=True,
            default_token_lifetime=lifetime,
        )
        service.client_secret = client["client_secret"]
        service.save()
        ids = []
        session = requests.Session()
        for index in range(count):
            tokens = session.post(
                server.token_url,
                data={
                    "grant_type": "password",
                    "username": user["username"],
                    "password": user["password"],
                    "scope": "read write",
                },
                auth=(client["client_id"], client["client_secret"]),
                timeout=30,
            ).json()
            now = timezone.now()
            # Auths were not all connected in the same second: spread their expiries over the
            # first half of the lifetime (earlier than the provider's, so never later).
            expires_in = tokens["expires_in"] * (1 - random.random() / 2)
            auth = Authentication(
                organization=organization,
                workspace=workspace,
                service=service,
                owner=organization.memberships.get(),
                name=f"{name} {index}",
                consented_at=now,
                last_refreshed_at=now,
                refresh_token_issued_at=now,
                access_token_expires_at=now + timedelta(seconds=expires_in),
                scopes=["read", "write"],
            )
            auth.access_token = tokens["access_token"]
            auth.refresh_token = tokens["refresh_token"]
            auth.save()
            state.schedule(
                authentication=Authentication.objects.select_related("service", "organization").get(
                    pk=auth.pk
                )
            )
            ids.append(str(auth.pk))
        groups[name] = ids
    return groups, organization


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_platform(workdir: Path, port: int) -> dict:
    env = dict(os.environ)
    log = open(workdir / "platform.log", "wb")  # noqa: SIM115 (closed at the end)
    python = [sys.executable, "-m"]
    commands = {
        "worker": [*python, "celery", "-A", "config", "worker", "--queues", "refresh,celery",
                   "--pool", "prefork", "--concurrency", "8", "--loglevel", "WARNING",
                   "--without-gossip", "--without-mingle", "-n", f"faults-{os.getpid()}@localhost"],
        "beat": [*python, "celery", "-A", "config", "beat", "--loglevel", "WARNING",
                 "--schedule", str(workdir / "beat-schedule")],
        "web": [*python, "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", "3", "--threads", "4", "--timeout", "60"],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        for name, command in commands.items()
    }
    processes["log"] = log
    return processes


def wait_for_web(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit("the web server did not start")


def pool_children(worker: subprocess.Popen) -> list[int]:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


class Run:
    """The load and the observations of one run."""

    def __init__(self, *, groups, servers, port, api_key, organization_slug, minutes):
        self.groups = groups
        self.servers = servers
        self.base = f"http://127.0.0.1:{port}/api/organizations/{organization_slug}/authentications"
        self.headers = {"Authorization": f"Api-Key {api_key}"}
        self.minutes = minutes
        self.stop = threading.Event()
        self.answers: Counter = Counter()
        self.seen_expired: set[str] = set()
        self.flaky_seen_expired: set[str] = set()
        self.deleted: list[str] = []
        self.kills = 0
        self.max_refresh_queue = 0
        self.lock = threading.Lock()

    def caller(self, seed: int) -> None:
        chance = random.Random(seed)
        session = requests.Session()
        while not self.stop.is_set():
            auth = chance.choice(self.groups["race"])
            try:
                response = session.post(
                    f"{self.base}/{auth}/request/",
                    json={"method": "GET", "path": "/echo"},
                    headers=self.headers,
                    timeout=60,
                )
                status = response.status_code
            except requests.RequestException:
                status = "no answer"
            with self.lock:
                self.answers[status] += 1
            time.sleep(0.05)

    def deleter(self) -> None:
        doomed = list(self.groups["doomed"])
        random.shuffle(doomed)
        gap = self.minutes * 60 * 0.8 / len(doomed)
        for auth in doomed:
            if self.stop.wait(gap):
                return
            try:
                status = requests.delete(f"{self.base}/{auth}/", headers=self.headers, timeout=90)
                code = status.status_code
            except requests.RequestException:
                code = "no answer"
            with self.lock:
                self.answers[f"DELETE {code}"] += 1
                if code == 200:
                    self.deleted.append(auth)

    def killer(self, worker: subprocess.Popen) -> None:
        for _ in range(5):
            if self.stop.wait(self.minutes * 60 / 6):
                return
            for pid in pool_children(worker):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            self.kills += 1

    def flaky_bursts(self) -> None:
        while not self.stop.wait(20):
            self.servers["flaky"].set_fault("status:503", count=3, grant_type="refresh_token")

    def monitor(self) -> None:
        import redis
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from auths.models import Authentication

        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        watched = [a for group in HEALTHY_GROUPS for a in self.groups[group]]
        flaky = set(self.groups["flaky"])
        while not self.stop.wait(1.0):
            expired = Authentication.objects.filter(
                pk__in=[*watched, *flaky],
                access_token_expires_at__lt=timezone.now(),
                status__in=["active", "expiring"],
            ).values_list("pk", flat=True)
            with self.lock:
                for pk in map(str, expired):
                    (self.flaky_seen_expired if pk in flaky else self.seen_expired).add(pk)
                self.max_refresh_queue = max(self.max_refresh_queue, broker.llen("refresh"))
        connection.close()


def backoff_allows(seconds: float) -> int:
    """Token requests one failing auth may make in `seconds` under the default schedule: the first
    attempt, REFRESH_MAX_RETRIES retries at backoff ceilings base*2^n (the jitter only shortens
    them by half at most), then one per exhausted cooldown."""
    from django.conf import settings

    attempts, elapsed = 1, 0.0
    for n in itertools.count():
        if n >= settings.REFRESH_MAX_RETRIES:
            step = settings.REFRESH_EXHAUSTED_COOLDOWN_SECONDS
        else:
            ceiling = min(
                settings.REFRESH_RETRY_BASE_SECONDS * 2**n, settings.REFRESH_RETRY_MAX_SECONDS
            )
            step = ceiling / 2  # the shortest the jitter allows
        elapsed += step
        if elapsed > seconds:
            return attempts
        attempts += 1


def report(run: Run, seconds: float) -> str:
    from auths.models import Authentication
    from services.models import Service

    rows = []
    for name, server in run.servers.items():
        count, lifetime, _, _ = PROVIDERS[name]
        refreshes = server.counters()["token_requests_by_grant_type"].get("refresh_token", 0)
        per_auth = refreshes / count
        per_lifetime = per_auth / (seconds / lifetime)
        allowed = backoff_allows(seconds) if name in ("html", "slow") else ""
        rows.append(
            f"| {name} | {count} | {lifetime} s | {refreshes} | {per_auth:.1f} | "
            f"{per_lifetime:.2f} | {allowed} |"
        )
    ids = [a for group in run.groups.values() for a in group]
    lost = Authentication.objects.filter(pk__in=ids, status="needs_reauth")
    interrupted = lost.filter(status_reason__contains="interrupted").count()
    flagged = Service.objects.filter(slug__startswith="faults-", suspected_test_status=True)
    errors = {k: v for k, v in run.answers.items() if str(k).split()[-1].startswith("5")}
    still_there = Authentication.objects.filter(pk__in=run.deleted).count()
    lines = [
        f"## Fault suite: `python -m bench.faults --minutes {run.minutes:g}`",
        "",
        "| provider | auths | token lifetime | refresh requests | per auth | per auth per lifetime "
        "| the backoff allows per auth |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "| measure | result |",
        "|---|---|",
        f"| healthy auths ever seen with an expired token (sampled every second) | "
        f"{len(run.seen_expired)} of "
        f"{sum(len(run.groups[g]) for g in HEALTHY_GROUPS)} |",
        f"| flaky-provider auths seen expired | {len(run.flaky_seen_expired)} of "
        f"{len(run.groups['flaky'])} |",
        f"| auths lost (needs_reauth) | {lost.count()} ({interrupted} after an interrupted "
        "refresh) |",
        f"| services falsely flagged as test-status apps | {flagged.count()} |",
        f"| 5xx answers of the API | {sum(errors.values())} {errors or ''} |",
        f"| API answers | {dict(sorted(run.answers.items(), key=str))} |",
        f"| deletes during refreshes: completed / still present | {len(run.deleted)} / "
        f"{still_there} |",
        f"| worker pool SIGKILLs | {run.kills} |",
        f"| longest `refresh` queue seen | {run.max_refresh_queue} |",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="bench_faults")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args(argv)

    configure(args)
    workdir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    servers = start_providers(workdir)
    platform = {}
    try:
        groups, organization = make_auths(servers)
        from workspaces.models import OrganizationAPIKey

        _, api_key = OrganizationAPIKey.objects.create_key(name="faults", organization=organization)
        arm_faults(servers)  # the tokens were issued with the password grant: not counted below
        port = free_port()
        platform = start_platform(workdir, port)
        wait_for_web(port)
        run = Run(
            groups=groups,
            servers=servers,
            port=port,
            api_key=api_key,
            organization_slug=organization.slug,
            minutes=args.minutes,
        )
        # Daemon threads: a call still waiting on the web server must not keep the bench alive.
        threads = [
            threading.Thread(target=run.caller, args=(i,), daemon=True) for i in range(CALLERS)
        ]
        threads += [
            threading.Thread(target=target, args=args, daemon=True)
            for target, args in (
                (run.deleter, ()),
                (run.killer, (platform["worker"],)),
                (run.flaky_bursts, ()),
                (run.monitor, ()),
            )
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(args.minutes * 60)
        run.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        print(report(run, time.monotonic() - started))
        print(f"\nLogs: {workdir}")
    finally:
        for name, process in platform.items():
            if name != "log":
                process.terminate()
        for name, process in platform.items():
            if name != "log":
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        if "log" in platform:
            platform["log"].close()
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
