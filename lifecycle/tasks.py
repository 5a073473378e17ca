"""Celery tasks of the token lifecycle. Thin: they take ids and call domain functions.

- scan_due_refreshes (beat, every REFRESH_SCAN_SECONDS): claims due auths in one statement per
  batch (lifecycle.state.due_authentications_claim) and queues one refresh task per claimed auth,
  with the claim's lease. The scan itself runs on the default queue, so a backlog of refreshes
  never delays it.
- refresh_authentication(authentication_id, claimed_until): on the `refresh` queue, served by
  workers of its own (README: running the workers). acks_late + reject_on_worker_lost, so a worker
  that dies mid-refresh hands the message to another; safe because the attempt checks its claim
  under the auth's row lock (lifecycle/policy.py). It never retries through the broker: a failed
  attempt sets the auth's due time, and the scan claims it again then. Only an attempt whose
  service has no free slot is queued again, a second later, with its claim.
- evaluate_expiry (beat, every EXPIRY_EVALUATION_SECONDS): predictions and the `expiring` status.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lifecycle.expiry import expiry_evaluate_all
from lifecycle.policy import refresh_attempt
from lifecycle.state import due_authentications_claim

SCAN_BATCH = 500
SCAN_MAX_BATCHES = 100


@shared_task(ignore_result=True, time_limit=120, soft_time_limit=100)
def scan_due_refreshes() -> int:
    queued = 0
    for _ in range(SCAN_MAX_BATCHES):
        now = timezone.now()
        ids = due_authentications_claim(
            now=now, lease_seconds=settings.REFRESH_CLAIM_LEASE_SECONDS, limit=SCAN_BATCH
        )
        claimed_until = (now + timedelta(seconds=settings.REFRESH_CLAIM_LEASE_SECONDS)).isoformat()
        with refresh_authentication.app.producer_or_acquire() as producer:  # one connection
            for authentication_id in ids:
                refresh_authentication.apply_async(
                    (str(authentication_id),), {"claimed_until": claimed_until}, producer=producer
                )
        queued += len(ids)
        if len(ids) < SCAN_BATCH:
            break
    return queued


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
    outcome = refresh_attempt(
        authentication_id=authentication_id,
        claimed_until=parse_datetime(claimed_until) if claimed_until else None,
        redelivered=bool((self.request.delivery_info or {}).get("redelivered")),
        force=force,
    )
    if outcome.again_in is not None:  # its service is busy: the same claimed attempt, shortly
        self.apply_async(
            (authentication_id,),
            {"force": force, "claimed_until": claimed_until},
            countdown=outcome.again_in,
        )
    return outcome.result


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def evaluate_expiry() -> int:
    return expiry_evaluate_all()
