"""API read benchmark, one command (needs PostgreSQL):

    .venv/bin/python -m bench.api                       # 1,000 auths, 300,000 events, 10 s each
    .venv/bin/python -m bench.api --seconds 5 --events 100000       # quicker

Starts gunicorn as docker-compose runs it (`gunicorn --config config/gunicorn.py
config.wsgi:application`, WEB_WORKERS=3 here) with bench/api_settings.py: the production URLs plus
a bench-only DRF view with the same API-key authentication returning static JSON (bench/api_urls.py),
the baseline of every ratio. Seeds its own database (default bench_api, recreated each run): one
organization, its owner's user API key, 50 custom services, 1,000 authentications (half on custom
services, half on catalog connectors) and --events auth events (INSERT ... SELECT
generate_series), spread over 120 days.

1. For each endpoint (static baseline, authentications list and detail, custom services, the
   service picker, the catalog, the organization's event log and one auth's events), --clients
   concurrent clients (threads in 2 load processes, a new connection per request as gunicorn's sync
   workers close it) for --seconds: req/s, p50/p99 latency, server CPU per request (utime+stime
   of the gunicorn master and workers from /proc) and req/s as a ratio of the static endpoint's.
2. The same paths in this process through Django's test client (--in-process-requests each, one
   after the other): CPU per request of this process alone, its ratio to the static view's, and
   the statements per request. The steadiest figure when the machine is shared.
3. One auth's events (50 of its own, page of 50), one client, with 1,000 events in the table and
   then with --events: p50 latency and the ratio (target <= 2x).

The machine may be shared: read the ratios. Prints a Markdown report.
"""

import argparse
import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="
PROBE_EVENTS = 50
SMALL_TABLE = 1_000


def configure(args) -> str:
    database_url = f"{args.postgres.rstrip('/')}/{args.database}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.api_settings",
        DATABASE_URL=database_url,
        DJANGO_LOG_LEVEL="WARNING",
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

    call_command("migrate", verbosity=0, interactive=False)  # loads the catalog too
    return database_url


def seed_world(*, auths: int, custom_services: int) -> dict:
    """One organization, its owner with a user API key, custom services in the owner's personal
    workspace, auths in the organization workspace (half on custom services, half on
    connectors), and a probe auth whose event log is measured."""
    from auths.models import Authentication
    from services.models import Service, ServiceSource
    from workspaces.models import Membership, User, UserAPIKey, Workspace, WorkspaceKind
    from workspaces.organizations import organization_create

    owner = User.objects.create(email="bench-api@example.com")
    organization = organization_create(name="Bench API", slug="bench-api", owner=owner)
    membership = Membership.objects.get(organization=organization, user=owner)
    personal = Workspace.objects.get(organization=organization, personal_owner=membership)
    shared = Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION)
    customs = Service.objects.bulk_create(
        Service(
            source=ServiceSource.CUSTOM,
            organization=organization,
            workspace=personal,
            owner=owner,
            slug=f"bench-crm-{number}",
            name=f"Bench CRM {number}",
            description="A custom service of the API benchmark.",
            auth_scheme="oauth2",
            grant_type="authorization_code",
            authorize_url="https://crm.example.com/oauth/authorize",
            token_url="https://crm.example.com/oauth/token",
            base_url="https://crm.example.com/api",
            client_id=f"client-{number}",
            client_secret="bench-client-secret",
            scopes_available=["read", "write", "admin"],
            scopes_default=["read"],
            parameters=[{"name": "region", "title": "Region", "required": False}],
        )
        for number in range(custom_services)
    )
    connectors = list(Service.objects.filter(source=ServiceSource.CONNECTOR).order_by("slug"))
    rows = []
    for number in range(auths):
        service = (
            customs[number % len(customs)] if number % 2 else connectors[number % len(connectors)]
        )
        rows.append(
            Authentication(
                organization=organization,
                workspace=shared,
                service=service,
                owner=membership,
                created_by=owner,
                name=f"{service.name} #{number}",
                username=f"user{number}@example.com",
                parameters={"region": "eu"},
                scopes=["read"],
                token_type="Bearer",
                access_token="bench-access-token",
                refresh_token="bench-refresh-token",
                flags=[{"code": "bench", "message": "A flag to render.", "since": "2026-01-01"}]
                if number % 10 == 0
                else [],
            )
        )
    created = Authentication.objects.bulk_create(rows)
    _, key = UserAPIKey.objects.create_key(name="bench", user=owner)
    return {
        "organization": organization,
        "auths": created,
        "probe": created[0],
        "key": key,
        "custom_service": customs[0],
    }


def insert_events(*, organization, probe, count: int, offset: int) -> None:
    """`count` events in one statement, over every auth but the probe (events offset..offset+count
    of a series 120 days long). Kinds mostly `refreshed`, as in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH auths AS (
                SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, name, service_id
                FROM auths_authentication WHERE organization_id = %(org)s AND id <> %(probe)s
            ), total AS (SELECT count(*) AS c FROM auths)
            INSERT INTO auths_authevent (organization_id, authentication_id, authentication_ref,
                authentication_name, service_id, kind, message, data, context, created_at)
            SELECT %(org)s, a.id, a.id, a.name, a.service_id,
                (ARRAY['refreshed','refreshed','refreshed','refreshed','refreshed','refreshed',
                       'refreshed','refresh_failed','recovered','expiring'])[1 + g %% 10],
                'Access token refreshed.', '{"attempt": 1, "lifetime_seconds": 3600}'::jsonb,
                '{}'::jsonb,
                now() - (g * (interval '120 days' / 300000))
            FROM generate_series(%(first)s, %(last)s) AS g
            JOIN auths a ON a.n = g %% (SELECT c FROM total)
            """,
            {
                "org": organization.pk,
                "probe": probe.pk,
                "first": offset,
                "last": offset + count - 1,
            },
        )
        # As autovacuum would have by then: the planner knows the tables' sizes.
        cursor.execute("ANALYZE")


def insert_probe_events(*, probe) -> None:
    from events.models import AuthEvent

    AuthEvent.objects.bulk_create(
        AuthEvent(
            organization_id=probe.organization_id,
            authentication=probe,
            authentication_ref=probe.pk,
            authentication_name=probe.name,
            service_id=probe.service_id,
            kind="refreshed",
            message="Access token refreshed.",
            data={"attempt": 1, "lifetime_seconds": 3600},
        )
        for _ in range(PROBE_EVENTS)
    )


# -- the web server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": str(workers)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "config/gunicorn.py",
            "config.wsgi:application",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access log, as docker-compose writes it
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(port, "/health/", {})
            if status == 200 and len(gunicorn_pids(server.pid)) > workers:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer /health/ within 60 s")


def gunicorn_pids(master: int) -> list[int]:
    pids = [master]
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return pids
    return pids + [int(pid) for pid in children]


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


# -- the load ---------------------------------------------------------------------------------------


def fetch(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _load_process(port, path, headers, threads, seconds, queue):
    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds

    def client():
        mine = []
        while True:
            start = time.perf_counter()
            if start >= deadline:
                break
            status, _ = fetch(port, path, headers)
            mine.append(time.perf_counter() - start)
            if status != 200:
                errors[0] += 1
        latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, errors[0]))


def load(*, port: int, path: str, headers: dict, clients: int, seconds: float, pids) -> dict:
    """`clients` concurrent clients for `seconds`: req/s, p50/p99 ms, server CPU ms/request."""
    for _ in range(3):  # warm the workers' code paths
        fetch(port, path, headers)
    processes = min(2, clients)
    queue = multiprocessing.Queue()
    cpu_before, wall_start = cpu_seconds(pids), time.perf_counter()
    workers = [
        multiprocessing.Process(
            target=_load_process,
            args=(port, path, headers, clients // processes, seconds, queue),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - wall_start
    cpu = cpu_seconds(pids) - cpu_before
    latencies = sorted(latency for found, _ in results for latency in found)
    errors = sum(count for _, count in results)
    if errors:
        raise SystemExit(f"{path}: {errors} responses were not 200")
    count = len(latencies)
    return {
        "requests": count,
        "rps": count / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(count - 1, int(count * 0.99))] * 1000,
        "cpu_ms": cpu / count * 1000,
    }


def in_process(*, paths: list[str], headers: dict, requests: int) -> list[dict]:
    """CPU per request of each path through the whole Django stack in this one process (the
    test client, no gunicorn, no concurrency): the steadiest figure on a shared machine, since
    it counts only this process's CPU. Also the statements each request runs."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=headers["Authorization"], HTTP_HOST="127.0.0.1")
    results = []
    for path in paths:
        client.get(path)
        statements = []

        def count(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path)
        start = time.process_time()
        for _ in range(requests):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        cpu = (time.process_time() - start) / requests * 1000
        results.append({"cpu_ms": cpu, "queries": len(statements)})
    return results


def check(port: int, path: str, headers: dict) -> None:
    status, body = fetch(port, path, headers)
    if status != 200:
        raise SystemExit(f"{path}: {status} {body[:300]!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auths", type=int, default=1_000)
    parser.add_argument("--custom-services", type=int, default=50)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (WEB_WORKERS)")
    parser.add_argument(
        "--in-process-requests", type=int, default=200, help="requests per path, in-process"
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="bench_api")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    os.chdir(REPO_ROOT)

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    configure(args)
    world = seed_world(auths=args.auths, custom_services=args.custom_services)
    organization, probe = world["organization"], world["probe"]
    insert_probe_events(probe=probe)
    insert_events(
        organization=organization, probe=probe, count=SMALL_TABLE - PROBE_EVENTS, offset=0
    )
    seeded = time.perf_counter() - started

    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_gunicorn(port=port, workers=args.workers)
    try:
        pids = gunicorn_pids(server.pid)
        headers = {"Authorization": f"Api-Key {world['key']}", "Accept": "application/json"}
        api = f"/api/organizations/{organization.slug}"
        probe_path = f"{api}/authentications/{probe.pk}/events/"
        check(port, probe_path, headers)
        small = load(
            port=port,
            path=probe_path,
            headers=headers,
            clients=1,
            seconds=args.seconds / 2,
            pids=pids,
        )

        started = time.perf_counter()
        insert_events(
            organization=organization,
            probe=probe,
            count=args.events - SMALL_TABLE,
            offset=SMALL_TABLE - PROBE_EVENTS,
        )
        connections.close_all()
        events_seeded = time.perf_counter() - started
        large = load(
            port=port,
            path=probe_path,
            headers=headers,
            clients=1,
            seconds=args.seconds / 2,
            pids=pids,
        )

        endpoints = [
            ("static DRF view, same API-key auth (baseline)", "/bench/static/"),
            ("`GET …/authentications/` (50 per page)", f"{api}/authentications/"),
            ("`GET …/custom-services/`", f"{api}/custom-services/"),
            ("`GET …/services/` (picker)", f"{api}/services/"),
            ("`GET …/catalog/`", f"{api}/catalog/"),
            ("`GET …/auth-events/` (organization log)", f"{api}/auth-events/"),
            ("`GET …/authentications/<id>/events/`", probe_path),
            ("`GET …/authentications/<id>/` (detail)", f"{api}/authentications/{probe.pk}/"),
        ]
        results = []
        for label, path in endpoints:
            check(port, path, headers)
            results.append(
                (
                    label,
                    load(
                        port=port,
                        path=path,
                        headers=headers,
                        clients=args.clients,
                        seconds=args.seconds,
                        pids=pids,
                    ),
                )
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    steady = in_process(
        paths=[path for _, path in endpoints], headers=headers, requests=args.in_process_requests
    )

    baseline = results[0][1]["rps"]
    report = [
        f"API reads, gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:g} s "
        f"each; {args.auths:,} auths, {args.custom_services} custom services, {args.events:,} "
        f"events (seeded in {seeded:.1f} s + {events_seeded:.1f} s); {os.cpu_count()} CPUs, "
        f"load average before {load_before:.2f}.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | server CPU ms/req | req/s vs static "
        "| in-process CPU ms/req | static's CPU / this | queries |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, result), alone in zip(results, steady, strict=True):
        report.append(
            f"| {label} | {result['rps']:.0f} | {result['p50']:.1f} | {result['p99']:.1f} | "
            f"{result['cpu_ms']:.2f} | {result['rps'] / baseline:.2f}x | {alone['cpu_ms']:.2f} | "
            f"{steady[0]['cpu_ms'] / alone['cpu_ms']:.2f}x | {alone['queries']} |"
        )
    report += [
        "",
        f"One auth's events ({PROBE_EVENTS} of its own, one client): p50 "
        f"{small['p50']:.2f} ms with {SMALL_TABLE:,} events in the table, {large['p50']:.2f} ms "
        f"with {args.events:,}: **{large['p50'] / small['p50']:.2f}x** (target <= 2x).",
    ]
    print("\n".join(report))


if __name__ == "__main__":
    main()
