"""HTTP-client benchmark, one command:

    .venv/bin/python bench/http_client.py                 # 1,000 requests each way
    .venv/bin/python bench/http_client.py --requests 5000
    .venv/bin/python bench/http_client.py --database-url postgres://postgres@127.0.0.1:5432/bench_http

Starts the loopback OAuth server (tests/oauth_server/serve.py, as a subprocess), creates an
authentication through the real password grant, then measures the latency of
`auths.http_client.http_request(...)` against a direct `requests` call to the same bearer-protected
echo endpoint, interleaved one for one in the same run (so both see the same server and machine
state). Both open a new connection per call (the HTTP client builds a guarded session per request);
a keep-alive `requests.Session` is measured too, for reference.

What the HTTP client adds per call: reading the credentials (Fernet decryption), building the
guarded session and its SSRF check (DNS resolution + address check), the response size cap and
credential scrubbing, and one UPDATE of last_used_at.

Default database: a throwaway SQLite file (nothing to install). Prints a Markdown report.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="


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


def make_authentication(server):
    from connections.password_grant import authentication_create_password
    from services.models import Service
    from workspaces.access import actor_for
    from workspaces.models import Organization, User, Workspace, WorkspaceKind
    from workspaces.organizations import organization_create

    owner, _ = User.objects.get_or_create(email="bench-http@example.com")
    organization = Organization.objects.filter(slug="bench-http").first() or organization_create(
        name="Bench HTTP", slug="bench-http", owner=owner
    )
    actor = actor_for(organization=organization, user=owner)
    workspace = Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION)
    app = server.create_application(grant_type="password")
    Service.objects.filter(organization=organization, slug="bench-echo").delete()
    service = Service.objects.create(
        source="custom",
        organization=organization,
        workspace=Workspace.objects.get(
            organization=organization, kind=WorkspaceKind.PERSONAL, personal_owner=actor.membership
        ),
        owner=owner,
        slug="bench-echo",
        name="Bench echo",
        auth_scheme="oauth2",
        grant_type="password",
        discouraged_acknowledged=True,
        token_url=server.token_url,
        base_url=server.base_url + "/api",
        client_id=app["client_id"],
        client_secret=app["client_secret"],
    )
    person = server.create_user("bench-user")
    return authentication_create_password(
        actor=actor,
        service=service,
        workspace=workspace,
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
    try:
        auth = make_authentication(server)
        token = auth.access_token.reveal()
        headers = {"Authorization": f"Bearer {token}"}
        keep_alive = requests.Session()

        def direct():
            response = requests.get(server.echo_url, headers=headers, timeout=10)
            assert response.status_code == 200, response.text

        def direct_keep_alive():
            response = keep_alive.get(server.echo_url, headers=headers, timeout=10)
            assert response.status_code == 200, response.text

        def client():
            result = http_request(authentication=auth, method="GET", path_or_url="/echo")
            assert result.status == 200, result.text

        timings = {"direct": [], "direct_keep_alive": [], "client": []}
        calls = {"direct": direct, "direct_keep_alive": direct_keep_alive, "client": client}
        for _ in range(args.warmup):
            for call in calls.values():
                call()
        for _ in range(args.requests):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                timings[name].append((time.perf_counter() - start) * 1000)
    finally:
        server.stop()

    def row(label, values):
        return (
            f"| {label} | {statistics.median(values):.2f} | {percentile(values, 0.99):.2f} | "
            f"{statistics.mean(values):.2f} |"
        )

    median_ratio = statistics.median(timings["client"]) / statistics.median(timings["direct"])
    p99_ratio = percentile(timings["client"], 0.99) / percentile(timings["direct"], 0.99)
    database = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    print(f"HTTP client vs direct requests, {args.requests} GETs each, interleaved ({database})\n")
    print("| path | median ms | p99 ms | mean ms |")
    print("| --- | --- | --- | --- |")
    print(row("`http_request(...)` (platform HTTP client)", timings["client"]))
    print(row("`requests.get(...)` (direct, new connection)", timings["direct"]))
    print(row("`requests.Session().get(...)` (direct, keep-alive)", timings["direct_keep_alive"]))
    print(
        f"\nRatio HTTP client / direct requests.get: median {median_ratio:.2f}x, "
        f"p99 {p99_ratio:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
