"""Celery tasks of the token lifecycle. Thin: they take ids and call domain functions.

- scan_due_refreshes (beat, every 30 s): claims due auths in one statement each batch
  (scheduling.due_authentications_claim) and queues one refresh task per claimed auth.
- refresh_authentication(authentication_id): acks_late + reject_on_worker_lost, so a worker that
  dies mid-refresh hands the message to another; safe because the attempt is idempotent and the
  refresh itself is a per-auth critical section (auths/refresh.py).
- evaluate_expiry (beat, hourly): predictions and the `expiring` status.
- deliver_webhook(delivery_id): one signed POST, retried with backoff, logged on the delivery.

Database connections in the worker: Celery's Django fixup closes every connection before and after
each task unless CELERY_DB_REUSE_MAX is set (celery/celery#9824 reverted honouring CONN_MAX_AGE),
so each refresh paid for a new PostgreSQL connection (a backend fork and authentication, ~40% of
the worker's time in the benchmark). Settings set CELERY_DB_REUSE_MAX (the fixup then only
force-closes every that many tasks) and the handlers below give tasks Django's own request
lifecycle instead: close_old_connections() before and after each task honours CONN_MAX_AGE (0, the
default, still closes every time) and CONN_HEALTH_CHECKS (a reused connection is checked before
its first query).
"""

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections
from django.utils import timezone

from auths.expiry import expiry_evaluate_all
from auths.refresh_policy import claim_lease_seconds, max_retries, refresh_attempt
from auths.scheduling import due_authentications_claim
from auths.webhooks import webhook_delivery_attempt, webhook_max_attempts, webhook_retry_delay

SCAN_BATCH = 500
SCAN_MAX_BATCHES = 100


@task_prerun.connect(weak=False, dispatch_uid="auths.tasks.connections_before_task")
@task_postrun.connect(weak=False, dispatch_uid="auths.tasks.connections_after_task")
def connections_around_task(sender=None, task=None, **kwargs):
    # An eager task runs inside its caller's request or test transaction: leave that alone.
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


@shared_task(ignore_result=True, time_limit=120, soft_time_limit=100)
def scan_due_refreshes() -> int:
    queued = 0
    for _ in range(SCAN_MAX_BATCHES):
        ids = due_authentications_claim(
            now=timezone.now(), lease_seconds=claim_lease_seconds(), limit=SCAN_BATCH
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
        raise self.retry(countdown=outcome.retry_in, max_retries=max_retries())
    return outcome.result


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def evaluate_expiry() -> int:
    return expiry_evaluate_all()


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
    max_retries=None,
)
def deliver_webhook(self, delivery_id: int) -> str:
    result = webhook_delivery_attempt(delivery_id=delivery_id)
    if result == "retry":
        raise self.retry(
            countdown=webhook_retry_delay(self.request.retries + 1),
            max_retries=webhook_max_attempts(),
        )
    return result
