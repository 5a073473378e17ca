"""Token-refresh benchmark, one command (needs PostgreSQL and Redis, like the tests):

    .venv/bin/python -m bench.refresh            # 10,000 refreshes + scan of 1,000,000 rows
    .venv/bin/python -m bench.refresh --auths 2000 --scan-rows 100000   # quicker
    .venv/bin/python -m bench.refresh --auths 2000 --scan-rows 0 --token-latency-ms 100 \
        --processes 2 --threads 4        # a provider 100 ms away, 8 refreshes at once

1. Throughput: N auths, all due, against a fast local token endpoint (bench/fast_token_server.py,
   optionally answering after --token-latency-ms). The platform path: the scan claims them and
   publishes one task per REFRESH_BATCH_SIZE (--batch-size) auths; a real Celery worker (prefork,
   --processes children, each refreshing its batch with --threads threads, REFRESH_BATCH_THREADS)
   refreshes each through the full critical section (row lock, token call via egress, fenced
   write, events, rescheduling). REFRESH_SLOTS_PER_SERVICE is set to processes x threads: every
   auth is on one service here, and the slots (a guard against one slow provider taking every
   worker) would otherwise be the bound. The clock starts once the workers answer a ping. The raw
   limit: the same N token requests from a bare requests-oauthlib loop with the same concurrency
   (processes x threads, one keep-alive session per thread), in the same run, against the same
   endpoint. CPU per refresh: the worker processes' CPU (parent and pool children, utime + stime
   from /proc) over the measured time, against the bare loop processes' own CPU.
2. Statements per refresh: the worker's code in this process (one thread, so one connection)
   on --statement-auths claimed auths, the connection handling of config/celery_app.py around each
   task, every statement Django sends counted, plus the CONN_HEALTH_CHECKS `SELECT 1`s.
3. Publish cost: the scan (claim + publish) of --publish-auths (10,000) due auths with no worker
   running, and the claim statements alone on the same rows.
4. Scan cost: M auths of which 1% are due, inserted with generate_series; the time of the claim
   statement (batches of 500 until nothing is due) and its EXPLAIN (ANALYZE, BUFFERS) plan, plus
   the same statement with index scans disabled for comparison.

Uses its own database (default bench_refresh, created if missing) and Redis DB 13 by default.
Prints a Markdown report (copied into docs/lifecycle.md).
"""

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="


def configure(args):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=f"{args.postgres.rstrip('/')}/{args.database}",
        REDIS_URL=args.redis,
        EGRESS_ALLOW_INSECURE_LOCAL="True",
        DJANGO_LOG_LEVEL="WARNING",
        OAUTHLIB_INSECURE_TRANSPORT="1",  # the bare loop talks plain http to loopback
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", FERNET_TEST_KEY)
    import psycopg

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def reset_tables():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE auths_webhookdelivery, auths_authevent, auths_oauthtransaction, "
            "auths_authentication CASCADE"
        )


def tenant_and_service(token_url: str):
    from services.models import Service
    from workspaces.models import Organization, User, Workspace, WorkspaceKind
    from workspaces.organizations import organization_create

    owner, _ = User.objects.get_or_create(email="bench-owner@example.com")
    organization = Organization.objects.filter(slug="bench").first() or organization_create(
        name="Bench", slug="bench", owner=owner
    )
    workspace = Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION)
    Service.objects.filter(slug="bench-provider").delete()
    service = Service(
        source="connector",
        slug="bench-provider",
        name="Bench provider",
        auth_scheme="oauth2",
        grant_type="authorization_code",
        token_url=token_url,
        client_id="bench-client",
        rotates_refresh_tokens=True,
    )
    service.client_secret = "bench-secret"
    service.save()
    return organization, workspace, service


def start_token_server(delay_ms: float = 0):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fast_token_server",
            "--port",
            "0",
            "--delay-ms",
            str(delay_ms),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().split()
    return process, f"http://127.0.0.1:{line[1]}/token"


def due_auths(*, count: int, organization, workspace, service) -> list[str]:
    from django.utils import timezone

    from auths.models import Authentication

    now = timezone.now()
    issued = now - timedelta(minutes=55)
    rows = []
    tokens = []
    for index in range(count):
        auth = Authentication(
            organization=organization,
            workspace=workspace,
            service=service,
            name=f"bench {index}",
            consented_at=issued,
            last_refreshed_at=issued,
            refresh_token_issued_at=issued,
            access_token_expires_at=issued + timedelta(hours=1),
            refresh_due_at=now - timedelta(seconds=1),
        )
        refresh_token = f"rt-{index}-bench"
        auth.access_token = f"at-{index}-bench"
        auth.refresh_token = refresh_token
        rows.append(auth)
        tokens.append(refresh_token)
    Authentication.objects.bulk_create(rows, batch_size=1000)
    return tokens


def worker_command(*, pool: str, concurrency: int, name: str, prefetch: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--queues",
        "refresh,celery",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--prefetch-multiplier",
        str(prefetch),
        "-n",
        name,
    ]


def start_workers(*, processes: int, threads: int, batch_size: int, log_path: Path):
    """One prefork worker with `processes` children, each refreshing a batch with `threads`
    threads (the Procfile and docker-compose shape)."""
    log = open(log_path, "wb")  # noqa: SIM115
    env = dict(
        os.environ,
        REFRESH_BATCH_THREADS=str(threads),
        REFRESH_BATCH_SIZE=str(batch_size),
        REFRESH_SLOTS_PER_SERVICE=str(processes * threads),
    )
    command = worker_command(pool="prefork", concurrency=processes, name=_name(0))
    workers = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    ]
    return workers, log


def process_cpu_seconds(pids) -> float:
    """utime + stime of each process (all its threads), from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # exited
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def worker_pids(workers) -> list[int]:
    pids = []
    for worker in workers:
        pids.append(worker.pid)
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
    return pids


def _name(index: int) -> str:
    return f"bench-{os.getpid()}-{index}@localhost"


def workers_ready(workers, log_path: Path, timeout: float = 60) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    names = {_name(i) for i in range(len(workers))}
    while time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            raise SystemExit(f"worker died; see {log_path}")
        answers = app.control.ping(destination=sorted(names), timeout=0.5)
        names -= {name for answer in answers for name in answer}
        if not names:
            return
    raise SystemExit(f"workers not ready after {timeout:.0f} s; see {log_path}")


def platform_run(
    *, count: int, processes: int, threads: int, batch_size: int, token_url: str, log_path: Path
) -> dict:
    import redis
    from django.conf import settings

    from auths.models import Authentication
    from lifecycle.tasks import scan_due_refreshes

    reset_tables()
    organization, workspace, service = tenant_and_service(token_url)
    due_auths(count=count, organization=organization, workspace=workspace, service=service)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    workers, log = start_workers(
        processes=processes, threads=threads, batch_size=batch_size, log_path=log_path
    )
    try:
        workers_ready(workers, log_path)  # the clock starts once the workers consume
        pids = worker_pids(workers)
        cpu_before = process_cpu_seconds(pids)
        started = time.perf_counter()
        settings.REFRESH_BATCH_SIZE = batch_size  # the scan runs here, in the driver
        queued = scan_due_refreshes()  # what beat runs every REFRESH_SCAN_SECONDS
        scanned = time.perf_counter()
        while Authentication.objects.filter(version__gt=1).count() < count:
            if any(worker.poll() is not None for worker in workers):
                raise SystemExit(f"worker died; see {log_path}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        cpu = process_cpu_seconds(pids) - cpu_before
        refreshed_twice = Authentication.objects.filter(version__gt=2).count()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        log.close()
    return {
        "queued": queued,
        "scan_seconds": scanned - started,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "cpu_ms": cpu / count * 1000,
        "refreshed_twice": refreshed_twice,
    }


def _bare_thread(token_url: str, refresh_tokens: list[str]) -> int:
    from requests.auth import HTTPBasicAuth
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session("bench-client")
    auth = HTTPBasicAuth("bench-client", "bench-secret")
    for refresh_token in refresh_tokens:
        session.refresh_token(token_url, refresh_token=refresh_token, auth=auth, timeout=20)
    return len(refresh_tokens)


def _bare_chunk(job) -> tuple[int, float]:
    """(token requests made, this process's CPU seconds, all threads)."""
    from concurrent.futures import ThreadPoolExecutor

    token_url, refresh_tokens, threads = job
    started = time.process_time()
    if threads == 1:
        done = _bare_thread(token_url, refresh_tokens)
    else:
        with ThreadPoolExecutor(threads) as executor:
            parts = [refresh_tokens[i::threads] for i in range(threads)]
            done = sum(executor.map(lambda part: _bare_thread(token_url, part), parts))
    return done, time.process_time() - started


def bare_run(*, count: int, processes: int, threads: int, token_url: str) -> dict:
    """The same token requests from a bare requests-oauthlib loop: `processes` processes with
    `threads` threads each (one keep-alive session per thread), the platform's concurrency."""
    tokens = [f"rt-{i}-bench" for i in range(count)]
    chunks = [(token_url, tokens[i::processes], threads) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_bare_chunk, chunks)
    elapsed = time.perf_counter() - started
    done = sum(result[0] for result in results)
    cpu = sum(result[1] for result in results)
    return {
        "done": done,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "cpu_ms": cpu / count * 1000,
    }


def statements_per_refresh(*, count: int, batch_size: int, token_url: str) -> dict:
    """The worker's code run here on `count` claimed auths, one task per batch (or per auth
    before batching existed), with the worker's connection handling around each task."""
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from config.celery_app import connections_around_task
    from lifecycle.state import due_authentications_claim

    try:
        from lifecycle.batches import refresh_batch
    except ImportError:  # before batching: one task per auth
        refresh_batch = None
    from lifecycle.policy import refresh_attempt

    reset_tables()
    organization, workspace, service = tenant_and_service(token_url)
    due_auths(count=count, organization=organization, workspace=workspace, service=service)
    now = timezone.now()
    ids = []
    while batch := due_authentications_claim(now=now, lease_seconds=300, limit=500):
        ids += batch
    claimed_until = now + timedelta(seconds=300)
    health_checks = {"n": 0}
    wrapper_class = type(connections["default"])
    is_usable = wrapper_class.is_usable

    def counted_is_usable(self):
        health_checks["n"] += 1
        return is_usable(self)

    wrapper_class.is_usable = counted_is_usable
    tasks = 0
    try:
        with CaptureQueriesContext(connection) as queries:
            if refresh_batch is not None:
                for start in range(0, len(ids), batch_size):
                    connections_around_task(task=None)
                    refresh_batch(
                        authentication_ids=[str(pk) for pk in ids[start : start + batch_size]],
                        claimed_until=claimed_until,
                        threads=1,
                    )
                    connections_around_task(task=None)
                    tasks += 1
            else:
                for pk in ids:
                    connections_around_task(task=None)
                    refresh_attempt(authentication_id=str(pk), claimed_until=claimed_until)
                    connections_around_task(task=None)
                    tasks += 1
    finally:
        wrapper_class.is_usable = is_usable
    kinds: dict[str, int] = {}
    for query in queries.captured_queries:
        kind = query["sql"].split()[0].upper()
        kinds[kind] = kinds.get(kind, 0) + 1
    kinds["SELECT 1 (health check)"] = health_checks["n"]
    return {
        "auths": len(ids),
        "tasks": tasks,
        "per_refresh": (len(queries.captured_queries) + health_checks["n"]) / len(ids),
        "kinds": {kind: round(n / len(ids), 2) for kind, n in sorted(kinds.items())},
    }


def publish_cost(*, count: int, batch_size: int) -> dict:
    """The scan (claim + publish) of `count` due auths with no worker, then the claim alone."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from auths.models import Authentication
    from lifecycle.state import due_authentications_claim
    from lifecycle.tasks import scan_due_refreshes

    reset_tables()
    organization, workspace, service = tenant_and_service("https://provider.example/token")
    due_auths(count=count, organization=organization, workspace=workspace, service=service)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    settings.REFRESH_BATCH_SIZE = batch_size
    started = time.perf_counter()
    queued = scan_due_refreshes()
    scan = time.perf_counter() - started
    messages = broker.llen("refresh")
    broker.flushdb()
    due = timezone.now() - timedelta(seconds=1)
    Authentication.objects.update(refresh_due_at=due)
    now = timezone.now()
    started = time.perf_counter()
    while due_authentications_claim(now=now, lease_seconds=300, limit=500):
        pass
    claim = time.perf_counter() - started
    return {
        "queued": queued,
        "messages": messages,
        "scan_seconds": scan,
        "claim_seconds": claim,
        "publish_seconds": scan - claim,
    }


def scan_cost(*, rows: int) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from lifecycle.state import claim_sql, due_authentications_claim

    reset_tables()
    organization, workspace, service = tenant_and_service("https://provider.example/token")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auths_authentication (
                id, organization_id, workspace_id, service_id, end_user_id, name,
                username, parameters, "grant", scopes, token_type, access_token_expires_at,
                consented_at, refresh_token_issued_at, refresh_token_expiry_reason, status,
                status_reason, flags, last_refreshed_at, version, refresh_due_at,
                refresh_failures, last_refresh_error, notified_status, created_at, updated_at
            )
            SELECT gen_random_uuid(), %s, %s, %s, NULL, 'bench ' || g,
                '', '{}', '{}', '[]', 'Bearer', now() + interval '1 hour',
                now(), now(), '', 'active',
                '', '[]', now(), 1,
                CASE WHEN g %% 100 = 0 THEN now() - interval '1 minute'
                     ELSE now() + (g %% 86400) * interval '1 second' + interval '10 minutes' END,
                0, '', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [organization.pk, workspace.pk, service.pk, rows],
        )
        cursor.execute("ANALYZE auths_authentication")
    inserted = time.perf_counter() - started
    now = timezone.now()
    params = [
        connection.ops.adapt_datetimefield_value(now + timedelta(minutes=5)),
        connection.ops.adapt_datetimefield_value(now),
        500,
    ]

    def explain(*, disable_index: bool) -> str:
        with transaction.atomic(), connection.cursor() as cursor:
            if disable_index:
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + claim_sql(), params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)  # EXPLAIN ANALYZE ran the UPDATE: undo it
        return plan

    indexed_plan = explain(disable_index=False)
    unindexed_plan = explain(disable_index=True)
    batches, claimed, timings = 0, 0, []
    while True:
        started = time.perf_counter()
        ids = due_authentications_claim(now=now, lease_seconds=300, limit=500)
        timings.append(time.perf_counter() - started)
        if not ids:
            break
        batches += 1
        claimed += len(ids)
    return {
        "rows": rows,
        "due": rows // 100,
        "insert_seconds": inserted,
        "claimed": claimed,
        "batches": batches,
        "claim_total_ms": sum(timings[:-1]) * 1000,
        "claim_batch_ms": (sum(timings[:-1]) / max(batches, 1)) * 1000,
        "empty_scan_ms": timings[-1] * 1000,
        "indexed_plan": indexed_plan,
        "unindexed_plan": unindexed_plan,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auths", type=int, default=10_000)
    parser.add_argument("--scan-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--processes",
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker processes (and bare-loop processes); default one per CPU",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker process refreshing a batch (REFRESH_BATCH_THREADS); the bare "
        "loop runs the same processes x threads",
    )
    parser.add_argument(
        "--batch-size", type=int, default=50, help="auths per refresh task (REFRESH_BATCH_SIZE)"
    )
    parser.add_argument(
        "--token-latency-ms",
        type=float,
        default=0,
        help="the token endpoint waits this long before answering (a provider across a network)",
    )
    parser.add_argument("--statement-auths", type=int, default=200)
    parser.add_argument("--publish-auths", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="bench_refresh")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args(argv)
    configure(args)
    load = os.getloadavg()
    report = [
        "## Benchmark: `python -m bench.refresh`",
        "",
        f"Machine: {os.cpu_count()} CPUs; PostgreSQL, Redis, the token endpoint, the worker and "
        f"the bench driver share them (load average at start: {load[0]:.1f}).",
        "",
    ]
    shape = f"{args.processes} processes" + (
        f" x {args.threads} threads" if args.threads > 1 else ""
    )
    if args.auths or args.statement_auths:
        server, token_url = start_token_server(args.token_latency_ms)
        try:
            if args.auths:
                log_path = Path("/tmp") / f"bench-refresh-worker-{os.getpid()}.log"
                platform = platform_run(
                    count=args.auths,
                    processes=args.processes,
                    threads=args.threads,
                    batch_size=args.batch_size,
                    token_url=token_url,
                    log_path=log_path,
                )
                bare = bare_run(
                    count=args.auths,
                    processes=args.processes,
                    threads=args.threads,
                    token_url=token_url,
                )
            if args.statement_auths:
                statements = statements_per_refresh(
                    count=args.statement_auths, batch_size=args.batch_size, token_url=token_url
                )
        finally:
            server.terminate()
    if args.auths:
        report += [
            f"### Refresh throughput: {args.auths:,} due auths, concurrency {shape}, token "
            f"endpoint latency {args.token_latency_ms:g} ms, {args.batch_size} auths per task",
            "",
            "| Path | Time | Refreshes/s | CPU per refresh |",
            "|---|---|---|---|",
            f"| Platform: scan + Celery worker (prefork, {shape}) + full critical section | "
            f"{platform['seconds']:.1f} s | {platform['per_second']:.0f} | "
            f"{platform['cpu_ms']:.2f} ms (worker processes) |",
            f"| Raw limit: bare requests-oauthlib loop, {shape} | "
            f"{bare['seconds']:.1f} s | {bare['per_second']:.0f} | "
            f"{bare['cpu_ms']:.2f} ms (loop processes) |",
            f"| **Platform / raw** | | **{platform['per_second'] / bare['per_second']:.2f}x** | "
            f"{platform['cpu_ms'] / bare['cpu_ms']:.1f}x |",
            "",
            f"Auths refreshed more than once: {platform['refreshed_twice']}. "
            f"The scan claimed and queued all {platform['queued']:,} in "
            f"{platform['scan_seconds']:.2f} s (inside the measured time).",
            "",
        ]
    if args.statement_auths:
        kinds = ", ".join(f"{kind} {n:g}" for kind, n in statements["kinds"].items())
        report += [
            f"### Statements per refresh: {statements['auths']} auths in {statements['tasks']} "
            "tasks, in-process",
            "",
            f"**{statements['per_refresh']:.2f} statements per refresh** ({kinds}; the "
            "BEGIN and COMMIT of each auth's transaction included).",
            "",
        ]
    if args.publish_auths:
        publish = publish_cost(count=args.publish_auths, batch_size=args.batch_size)
        report += [
            f"### Publish cost: the scan of {args.publish_auths:,} due auths, no worker",
            "",
            f"- scan (claim + publish): {publish['scan_seconds']:.2f} s, "
            f"{publish['messages']:,} messages for {publish['queued']:,} auths",
            f"- the claim statements alone: {publish['claim_seconds']:.2f} s; so publishing: "
            f"{publish['publish_seconds']:.2f} s",
            "",
        ]
    if args.scan_rows:
        scan = scan_cost(rows=args.scan_rows)
        report += [
            f"### Scan cost: {scan['rows']:,} auths, {scan['due']:,} due (1%)",
            "",
            f"- claiming all due auths: {scan['batches']} batches of 500, "
            f"{scan['claim_total_ms']:.0f} ms in total, {scan['claim_batch_ms']:.1f} ms per batch",
            f"- a scan when nothing is due: {scan['empty_scan_ms']:.2f} ms",
            f"- (inserting the rows with generate_series took {scan['insert_seconds']:.0f} s)",
            "",
            "Plan of one claim (EXPLAIN ANALYZE, BUFFERS):",
            "",
            "```",
            scan["indexed_plan"],
            "```",
            "",
            "The same statement with index scans disabled (what the scan would cost without the "
            "partial index):",
            "",
            "```",
            scan["unindexed_plan"],
            "```",
        ]
    print("\n".join(report))


if __name__ == "__main__":
    main()
