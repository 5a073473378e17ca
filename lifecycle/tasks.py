"""Celery tasks of the token lifecycle. Thin: they take ids and call domain functions.

- scan_due_refreshes (beat, every REFRESH_SCAN_SECONDS): claims due auths in one statement per
  batch (lifecycle.state.due_authentications_claim) and queues one refresh_authentications task
  per REFRESH_BATCH_SIZE claimed auths, with the claim's lease. The scan itself runs on the
  default queue, so a backlog of refreshes never delays it.
- refresh_authentications(authentication_ids, claimed_until): on the `refresh` queue, served by
  workers of its own (README: running the workers); refreshes the batch with up to
  REFRESH_BATCH_THREADS threads (lifecycle/batches.py), each auth in its own locked attempt.
  acks_late + reject_on_worker_lost, so a worker that dies mid-batch hands the message to
  another; safe because each attempt checks its claim under the auth's row lock
  (lifecycle/policy.py): the auths already refreshed find another due time and do nothing. It
  never retries through the broker: a failed attempt sets the auth's due time, and the scan
  claims it again then. Only attempts whose service had no free slot are queued again, a second
  later, with their claim (and those the batch did not start in its time budget, at once).
- refresh_authentication(authentication_id, force, claimed_until): the same for one auth (a batch
  of one, in the task's thread): "refresh now" callers and a hand-queued refresh.
- evaluate_expiry (beat, every EXPIRY_EVALUATION_SECONDS): predictions and the `expiring` status.
"""

from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lifecycle.batches import START_BUDGET_SECONDS, pool_stop, refresh_batch
from lifecycle.expiry import expiry_evaluate_all
from lifecycle.state import due_authentications_claim

SCAN_BATCH = 500
SCAN_MAX_BATCHES = 100


def _chunks(ids: list, size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@shared_task(ignore_result=True, time_limit=120, soft_time_limit=100)
def scan_due_refreshes() -> int:
    queued = 0
    for _ in range(SCAN_MAX_BATCHES):
        now = timezone.now()
        ids = due_authentications_claim(
            now=now, lease_seconds=settings.REFRESH_CLAIM_LEASE_SECONDS, limit=SCAN_BATCH
        )
        claimed_until = (now + timedelta(seconds=settings.REFRESH_CLAIM_LEASE_SECONDS)).isoformat()
        with refresh_authentications.app.producer_or_acquire() as producer:  # one connection
            for chunk in _chunks([str(pk) for pk in ids], settings.REFRESH_BATCH_SIZE):
                refresh_authentications.apply_async(
                    (chunk,), {"claimed_until": claimed_until}, producer=producer
                )
        queued += len(ids)
        if len(ids) < SCAN_BATCH:
            break
    return queued


# Limits: a batch starts no attempt after START_BUDGET_SECONDS, and an attempt ends within the
# longest token deadline a service may set (120 s): the task is never killed while a provider may
# still answer.
BATCH_SOFT_TIME_LIMIT = START_BUDGET_SECONDS + 150
BATCH_TIME_LIMIT = START_BUDGET_SECONDS + 180


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=BATCH_SOFT_TIME_LIMIT,
    time_limit=BATCH_TIME_LIMIT,
)
def refresh_authentications(self, authentication_ids: list, claimed_until: str | None = None):
    result = refresh_batch(
        authentication_ids=authentication_ids,
        claimed_until=parse_datetime(claimed_until) if claimed_until else None,
        redelivered=bool((self.request.delivery_info or {}).get("redelivered")),
    )
    _queue_again(result, claimed_until=claimed_until)
    return result.counts()


def _queue_again(result, *, claimed_until: str | None) -> None:
    """The attempts whose service was busy, shortly; those not started, at once. Same claim."""
    busy = result.busy()
    if busy:
        again_in = max(result.outcomes[pk].again_in for pk in busy)
        refresh_authentications.apply_async(
            ([str(pk) for pk in busy],), {"claimed_until": claimed_until}, countdown=again_in
        )
    if result.not_started:
        refresh_authentications.apply_async(
            ([str(pk) for pk in result.not_started],), {"claimed_until": claimed_until}
        )


# Limits above the longest token deadline a service may set (120 s): the task is never killed
# while its provider may still answer.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=150,
    time_limit=180,
)
def refresh_authentication(
    self, authentication_id: str, force: bool = False, claimed_until: str | None = None
) -> str:
    result = refresh_batch(
        authentication_ids=[authentication_id],
        claimed_until=parse_datetime(claimed_until) if claimed_until else None,
        redelivered=bool((self.request.delivery_info or {}).get("redelivered")),
        force=force,
    )
    outcome = result.outcomes[authentication_id]
    if outcome.again_in is not None:  # its service is busy: the same claimed attempt, shortly
        self.apply_async(
            (authentication_id,),
            {"force": force, "claimed_until": claimed_until},
            countdown=outcome.again_in,
        )
    return outcome.result


@worker_process_shutdown.connect(weak=False, dispatch_uid="lifecycle.tasks.batch_threads_stop")
def batch_threads_stop(**kwargs):
    # The batch threads' database connections are closed, not dropped with the process.
    pool_stop()


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def evaluate_expiry() -> int:
    return expiry_evaluate_all()
