"""Celery tasks of the token lifecycle. Thin: they take ids and call domain functions.

- scan_due_refreshes (beat, every REFRESH_SCAN_SECONDS): claims due auths in one statement per
  batch (lifecycle.state.due_authentications_claim) and queues one refresh task per claimed auth.
- refresh_authentication(authentication_id): acks_late + reject_on_worker_lost, so a worker that
  dies mid-refresh hands the message to another; safe because the attempt is idempotent and the
  refresh itself is a per-auth critical section (lifecycle/refresh.py).
- evaluate_expiry (beat, every EXPIRY_EVALUATION_SECONDS): predictions and the `expiring` status.
"""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from lifecycle.expiry import expiry_evaluate_all
from lifecycle.policy import refresh_attempt
from lifecycle.state import due_authentications_claim

SCAN_BATCH = 500
SCAN_MAX_BATCHES = 100


@shared_task(ignore_result=True, time_limit=120, soft_time_limit=100)
def scan_due_refreshes() -> int:
    queued = 0
    for _ in range(SCAN_MAX_BATCHES):
        ids = due_authentications_claim(
            now=timezone.now(), lease_seconds=settings.REFRESH_CLAIM_LEASE_SECONDS, limit=SCAN_BATCH
        )
        with refresh_authentication.app.producer_or_acquire() as producer:  # one connection
            for authentication_id in ids:
                refresh_authentication.apply_async((str(authentication_id),), producer=producer)
        queued += len(ids)
        if len(ids) < SCAN_BATCH:
            break
    return queued


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    max_retries=None,
)
def refresh_authentication(self, authentication_id: str, force: bool = False) -> str:
    outcome = refresh_attempt(
        authentication_id=authentication_id, retries=self.request.retries, force=force
    )
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, max_retries=settings.REFRESH_MAX_RETRIES)
    return outcome.result


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def evaluate_expiry() -> int:
    return expiry_evaluate_all()
