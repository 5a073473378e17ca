"""Refreshing a batch of claimed authentications (issue 12): the scan publishes one task per
REFRESH_BATCH_SIZE due auths instead of one per auth, and the task refreshes them here with up to
REFRESH_BATCH_THREADS threads, so that one provider's latency overlaps with the next refresh.

Each auth is still an attempt of its own: its own transaction, row lock and version fence
(lifecycle/refresh.py), its own gate on its claim (lifecycle/policy.py). A failure of one never
stops the others: every attempt records its own outcome (policy.refresh_attempt records even an
unexpected exception on the auth); if recording fails too (the database is gone), the failure is
logged, the auth keeps its claim and the scan claims it again when the lease runs out.

What a batch reads once instead of once per auth: the auths' services and organizations (two
queries; copied per thread, lifecycle/refresh.py RefreshContext) and each organization's webhooks
(events.webhooks.webhooks_cached, per thread).

Threads: one pool per worker process, started by its first batch (never inherited across a fork),
plus the task's own thread. Each thread has its own database connection (Django's are per thread),
kept across batches as CONN_MAX_AGE says (checked before each batch like a request's, so the
CONN_HEALTH_CHECKS `SELECT 1` is once per batch and thread, not once per auth) and closed when the
pool stops (worker process shutdown, or exit). A batch of one (the single-auth task, "refresh
now") runs in the caller's thread alone.

A batch stops starting attempts after START_BUDGET_SECONDS (a slow provider): the auths it did not
start are handed back, still claimed, for the task to queue again, so the task's time limit always
covers the attempts it started.
"""

import atexit
import collections
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connections

from auths.models import Authentication
from events.webhooks import webhooks_cached
from lifecycle.policy import Outcome, refresh_attempt
from lifecycle.refresh import RefreshContext
from services.models import Service
from workspaces.models import Organization

logger = logging.getLogger(__name__)

# No attempt starts later than this into its batch; with the longest token deadline (120 s) it
# bounds the batch task's time (lifecycle/tasks.py sets its limits from both).
START_BUDGET_SECONDS = 60.0


@dataclass
class BatchResult:
    outcomes: dict = field(default_factory=dict)  # authentication id -> Outcome
    not_started: list = field(default_factory=list)  # still claimed: queue them again

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        return counts

    def busy(self) -> list:
        return [pk for pk, outcome in self.outcomes.items() if outcome.again_in is not None]


def refresh_batch(
    *,
    authentication_ids: list,
    claimed_until: datetime | None = None,
    redelivered: bool = False,
    force: bool = False,
    threads: int | None = None,
) -> BatchResult:
    """Attempt each auth of the batch (see the module docstring); every auth gets an outcome or
    is handed back in `not_started`. `redelivered`: the broker handed this batch out before, to a
    worker that died mid-batch: each auth's attempt treats a refusal as explained by that."""
    ids = list(dict.fromkeys(authentication_ids))
    result = BatchResult()
    if not ids:
        return result
    services, organizations = _read_once(ids)
    work = _Work(ids)
    start_by = time.monotonic() + START_BUDGET_SECONDS

    def drain() -> None:
        context = RefreshContext(services=services, organizations=organizations)
        with webhooks_cached():
            while (pk := work.next(start_by=start_by)) is not None:
                outcome = _attempt(
                    pk,
                    context=context,
                    claimed_until=claimed_until,
                    redelivered=redelivered,
                    force=force,
                )
                work.done(pk, outcome, result)

    threads = min(threads or settings.REFRESH_BATCH_THREADS, len(ids))
    pool = _pool(threads - 1) if threads > 1 else None
    helpers = [pool.submit(drain) for _ in range(threads - 1)] if pool else []
    try:
        drain()
    finally:
        wait(helpers)
    for helper in helpers:
        helper.result()  # drain() catches per auth; anything here is a bug worth raising
    result.not_started.extend(work.pending)
    for pk in result.not_started:
        result.outcomes.pop(pk, None)  # an earlier "busy" of an auth that was to be tried again
    return result


class _Work:
    """The batch's auths for its threads. An auth whose service had no free slot ("busy") waits
    in the batch while another attempt of the batch is running (most often that attempt holds the
    slot: a batch is mostly one provider's auths) and is tried again when one ends; once nothing of
    the batch is running, the busy auths keep their busy outcome and the task queues them again
    through the broker, so a provider whose slots other workers hold never keeps this process."""

    def __init__(self, ids: list):
        self.pending = collections.deque(ids)
        self.busy: list = []
        self.running = 0
        self._changed = threading.Condition()

    def next(self, *, start_by: float):
        """The next auth to attempt; None when there is none, or the batch's time to start
        attempts is over (what is left is handed back)."""
        with self._changed:
            while time.monotonic() < start_by:
                if self.pending:
                    self.running += 1
                    return self.pending.popleft()
                if not self.busy or not self.running:
                    return None
                # An attempt of this batch ends: a slot may be free.
                self._changed.wait(timeout=min(1.0, max(start_by - time.monotonic(), 0)))
                self.pending.extend(self.busy)
                self.busy.clear()
            return None

    def done(self, pk, outcome: Outcome, result: BatchResult) -> None:
        with self._changed:
            self.running -= 1
            result.outcomes[pk] = outcome
            if outcome.again_in is not None and self.running:
                self.busy.append(pk)
            self._changed.notify_all()


def _attempt(pk, *, context, claimed_until, redelivered, force) -> Outcome:
    try:
        return refresh_attempt(
            authentication_id=pk,
            claimed_until=claimed_until,
            redelivered=redelivered,
            force=force,
            context=context,
        )
    except Exception:  # noqa: BLE001 - one auth's failure must not stop the batch
        # refresh_attempt records even unexpected failures on the auth; this is a failure to
        # record (the database is unreachable): the claim's lease brings the auth back.
        logger.exception("refresh of authentication %s: its outcome could not be recorded", pk)
        return Outcome("lost")


def _read_once(ids: list) -> tuple[dict, dict]:
    """The batch's services and organizations by id (read without a lock: the refresh locks only
    the auth row, as it always read them)."""
    rows = Authentication.objects.filter(pk__in=ids)
    services = Service.objects.filter(pk__in=rows.values("service_id")).in_bulk()
    organizations = Organization.objects.filter(pk__in=rows.values("organization_id")).in_bulk()
    return services, organizations


# --- the worker process's threads ----------------------------------------------------------------


class _Pool:
    """Threads that run submitted functions, each with its own database connections, checked
    around each function like a request's and closed when the pool stops."""

    def __init__(self):
        self.pid = os.getpid()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def grow(self, size: int) -> None:
        while len(self._threads) < size:
            thread = threading.Thread(
                target=self._serve, name=f"refresh-batch-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                close_old_connections()
                try:
                    job()
                finally:
                    close_old_connections()
        finally:
            connections.close_all()

    def submit(self, function) -> Future:
        future: Future = Future()

        def job():
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(function())
            except BaseException as error:  # handed to the caller through the future
                future.set_exception(error)

        self._jobs.put(job)
        return future

    def stop(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout)


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool(size: int) -> _Pool:
    """This process's pool with at least `size` threads (a forked child never uses its parent's:
    the threads did not survive the fork)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = _Pool()
        _POOL.grow(size)
        return _POOL


def pool_stop() -> None:
    """Stop this process's threads and close their database connections (worker process
    shutdown; also at exit)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None and _POOL.pid == os.getpid():
            _POOL.stop()
        _POOL = None


atexit.register(pool_stop)
