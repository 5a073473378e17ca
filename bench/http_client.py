"""HTTP-client benchmark, one command:

    .venv/bin/python bench/http_client.py                 # 1,000 requests each way
    .venv/bin/python bench/http_client.py --requests 5000
    .venv/bin/python bench/http_client.py --database-url postgres://postgres@127.0.0.1:5432/bench_http

Two loopback endpoints, each called three ways, interleaved one for one in the same run (so all
see the same server and machine state):

- a trivial endpoint (bench/fast_token_server.py: a tiny JSON answer, HTTP/1.1 keep-alive, no
  checks), where the client's own cost shows: `connections.http_client.http_request(...)` against
  a keep-alive `requests.Session` (the target) and a new-connection `requests.get(...)`;
- the bearer-protected echo endpoint of the loopback OAuth server (tests/oauth_server/serve.py,
  a Django server that validates the token), a realistic API answer.

Each endpoint gets its authentication through the real password grant. What the HTTP client adds
per call: reading the credentials (Fernet decryption), the grant and URL checks, the guarded
session's URL and address checks (the address check on every request: infrastructure/egress.py),
the total deadline's watch, the response size cap and credential scrubbing, and one UPDATE of
last_used_at a minute.

Reports wall time (median / p99) and the calling thread's CPU per call: on a shared machine the
wall time of a loopback call is mostly waiting for a CPU, which dilutes every ratio towards 1x;
the CPU of the caller's side is what the client itself costs.

Default database: a throwaway SQLite file (nothing to install). Running it again against the same
PostgreSQL database replaces the previous run's bench services and authentications. Prints a
Markdown report.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="
BENCH_SLUGS = ("bench-echo", "bench-trivial")


def configure(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        EGRESS_ALLOW_INSECURE_LOCAL="True",
        DJANGO_LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", FERNET_TEST_KEY)
    if database_url.startswith("postgres"):
        import psycopg

        base, _, name = database_url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def start_trivial_server() -> tuple[subprocess.Popen, str]:
    """bench/fast_token_server.py in a process of its own: POST answers a token, GET a few bytes."""
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.fast_token_server", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        process.kill()
        raise SystemExit(f"the trivial server did not start: {line}")
    return process, f"http://127.0.0.1:{line[1]}"


def bench_owner():
    """The bench organization and its owner, with the previous run's bench services and their
    authentications removed (an authentication protects its service from deletion)."""
    from auths.models import Authentication
    from services.models import Service
    from workspaces.access import actor_for
    from workspaces.models import Organization, User
    from workspaces.organizations import organization_create

    owner, _ = User.objects.get_or_create(email="bench-http@example.com")
    organization = Organization.objects.filter(slug="bench-http").first() or organization_create(
        name="Bench HTTP", slug="bench-http", owner=owner
    )
    previous = Service.objects.filter(organization=organization, slug__in=BENCH_SLUGS)
    Authentication.objects.filter(service__in=previous).delete()
    previous.delete()
    return actor_for(organization=organization, user=owner)


def make_authentication(actor, *, slug, token_url, base_url, client_id, client_secret, person):
    from connections.password_grant import authentication_create_password
    from services.models import Service
    from workspaces.models import Workspace, WorkspaceKind

    organization = actor.organization
    service = Service.objects.create(
        source="custom",
        organization=organization,
        workspace=Workspace.objects.get(
            organization=organization, kind=WorkspaceKind.PERSONAL, personal_owner=actor.membership
        ),
        owner=actor.user,
        slug=slug,
        name=slug.replace("-", " ").capitalize(),
        auth_scheme="oauth2",
        grant_type="password",
        discouraged_acknowledged=True,
        token_url=token_url,
        base_url=base_url,
        client_id=client_id,
        client_secret=client_secret,
    )
    return authentication_create_password(
        actor=actor,
        service=service,
        workspace=Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION),
        username=person["username"],
        password=person["password"],
    )


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    configure(args.database_url or f"sqlite:///{workdir / 'platform.sqlite3'}")

    import requests

    from connections.http_client import http_request
    from tests.oauth_server.fixture import OAuthServer

    server = OAuthServer.start(workdir / "oauth_server")
    trivial_process, trivial_url = start_trivial_server()
    try:
        actor = bench_owner()
        app = server.create_application(grant_type="password")
        echo_auth = make_authentication(
            actor,
            slug="bench-echo",
            token_url=server.token_url,
            base_url=server.base_url + "/api",
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            person=server.create_user("bench-user"),
        )
        trivial_auth = make_authentication(
            actor,
            slug="bench-trivial",
            token_url=trivial_url + "/token",
            base_url=trivial_url,
            client_id="bench",
            client_secret="bench-client-secret",
            person={"username": "bench", "password": "bench-password"},
        )
        keep_alive = requests.Session()

        def direct(url, auth):
            headers = {"Authorization": f"Bearer {auth.access_token.reveal()}"}

            def call():
                response = requests.get(url, headers=headers, timeout=10)
                assert response.status_code == 200, response.text

            return call

        def direct_keep_alive(url, auth):
            headers = {"Authorization": f"Bearer {auth.access_token.reveal()}"}

            def call():
                response = keep_alive.get(url, headers=headers, timeout=10)
                assert response.status_code == 200, response.text

            return call

        def client(auth, path):
            def call():
                result = http_request(authentication=auth, method="GET", path_or_url=path)
                assert result.status == 200, result.text

            return call

        calls = {
            ("trivial", "client"): client(trivial_auth, "/"),
            ("trivial", "keep_alive"): direct_keep_alive(trivial_url + "/", trivial_auth),
            ("trivial", "new_connection"): direct(trivial_url + "/", trivial_auth),
            ("echo", "client"): client(echo_auth, "/echo"),
            ("echo", "keep_alive"): direct_keep_alive(server.echo_url, echo_auth),
            ("echo", "new_connection"): direct(server.echo_url, echo_auth),
        }
        timings = {key: [] for key in calls}
        cpu = dict.fromkeys(calls, 0.0)  # this thread's CPU: the caller's side alone
        for _ in range(args.warmup):
            for call in calls.values():
                call()
        for _ in range(args.requests):
            for key, call in calls.items():
                start, start_cpu = time.perf_counter(), time.thread_time()
                call()
                cpu[key] += time.thread_time() - start_cpu
                timings[key].append((time.perf_counter() - start) * 1000)
    finally:
        trivial_process.kill()
        trivial_process.wait()
        server.stop()

    def cell(values):
        return f"{statistics.median(values):.2f} / {percentile(values, 0.99):.2f}"

    def ratio(values, baseline):
        return (
            f"{statistics.median(values) / statistics.median(baseline):.2f}x / "
            f"{percentile(values, 0.99) / percentile(baseline, 0.99):.2f}x"
        )

    database = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    print(
        f"HTTP client vs direct requests, {args.requests} GETs each way, interleaved ({database}; "
        f"load {os.getloadavg()[0]:.1f})\n"
    )
    print(
        "| endpoint | `http_request(...)` median / p99 ms | keep-alive `requests.Session` | "
        "new-connection `requests.get` | client / keep-alive | client / new connection |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for endpoint, label in (("trivial", "trivial (tiny JSON)"), ("echo", "OAuth server echo")):
        mine = timings[(endpoint, "client")]
        kept = timings[(endpoint, "keep_alive")]
        fresh = timings[(endpoint, "new_connection")]
        print(
            f"| {label} | {cell(mine)} | {cell(kept)} | {cell(fresh)} | **{ratio(mine, kept)}** "
            f"| {ratio(mine, fresh)} |"
        )
    print(
        "\nCPU of the calling thread per call (µs; the servers run in other processes), "
        "steadier than wall time on a shared machine:\n"
    )
    print("| endpoint | `http_request(...)` | keep-alive `requests.Session` | ratio |")
    print("| --- | --- | --- | --- |")
    for endpoint, label in (("trivial", "trivial (tiny JSON)"), ("echo", "OAuth server echo")):
        mine = cpu[(endpoint, "client")] / args.requests * 1e6
        kept = cpu[(endpoint, "keep_alive")] / args.requests * 1e6
        print(f"| {label} | {mine:.0f} | {kept:.0f} | {mine / kept:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
