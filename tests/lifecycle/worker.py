"""A real Celery worker subprocess for the lifecycle tests, and auths holding real tokens from the
loopback OAuth server."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60


def wait_for(predicate, *, timeout=30.0, interval=0.1, message="condition"):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)  # poll interval, not a fixed wait


class Worker:
    """`python -m celery -A config worker` against the pytest database and our Redis DB."""

    def __init__(self, log_path: Path, pool: str = "prefork", concurrency: int = 2):
        self.log_path = log_path
        self.pool = pool
        self.concurrency = concurrency
        self.process = None
        self.redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def environment(self) -> dict:
        db = connection.settings_dict
        # The URLs below are this test process's own: the worker must not derive its Redis
        # database from the xdist worker id a second time (config/settings/test.py).
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.lifecycle.worker_settings",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            REDIS_URL=settings.CELERY_BROKER_URL,
            FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
            EGRESS_ALLOW_INSECURE_LOCAL="True",
            PYTHONPATH=str(REPO_ROOT),
        )
        if db.get("PASSWORD"):
            env["DATABASE_URL"] = env["DATABASE_URL"].replace(
                f"//{db['USER']}@", f"//{db['USER']}:{db['PASSWORD']}@"
            )
        return env

    def start(self):
        self.redis.flushdb()  # our own Redis DB: no stale messages from earlier runs
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--queues",
                "refresh,celery",
                "--pool",
                self.pool,
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"lifecycle-{os.getpid()}-{time.monotonic_ns()}@localhost",
            ],
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: b" ready." in self.log_path.read_bytes() or self.process.poll() is not None,
            timeout=STARTUP_TIMEOUT,
            message="the Celery worker to start",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited:\n{self.output()}")
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill_children(self) -> list[int]:
        """SIGKILL every pool process (the one mid-refresh among them)."""
        killed = self.children()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def idle(self) -> bool:
        """No message waiting, none reserved or held for a retry countdown (acks_late keeps a
        message unacked until its task finished)."""
        queued = sum(self.redis.llen(key) for key in self.redis.scan_iter("celery*"))
        return queued == 0 and self.redis.hlen("unacked") == 0

    def wait_idle(self, timeout=60.0):
        """Idle on three polls in a row: a message being handed from the queue to the unacked
        hash is briefly in neither."""
        streak = {"n": 0}

        def settled():
            streak["n"] = streak["n"] + 1 if self.idle() else 0
            return streak["n"] >= 3

        wait_for(settled, timeout=timeout, message="the worker to finish its tasks")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def issue_tokens(oauth_server, client, user) -> dict:
    """A real token response from the loopback server (password grant: no browser needed)."""
    response = requests.post(
        oauth_server.token_url,
        data={
            "grant_type": "password",
            "username": user["username"],
            "password": user["password"],
            "scope": "read write",
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def refresh_count(oauth_server) -> int:
    return oauth_server.counters()["token_requests_by_grant_type"].get("refresh_token", 0)
