"""Celery tasks of the events app. Thin: they take ids and call domain functions.

- deliver_webhook(delivery_id): one signed POST, retried with backoff, logged on the delivery;
- deliver_email(delivery_id): one notification email, retried the same way, logged on the delivery;
- prune_events(): event retention (events/retention.py), on the beat schedule.
"""

from celery import shared_task

from events.notifications import email_delivery_attempt
from events.retention import events_prune
from events.retries import delivery_max_attempts, delivery_retry_delay
from events.webhooks import webhook_delivery_attempt

DELIVERY_TASK = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "soft_time_limit": 30,
    "time_limit": 45,
    "max_retries": None,
}


@shared_task(**DELIVERY_TASK)
def deliver_webhook(self, delivery_id: int) -> str:
    result = webhook_delivery_attempt(delivery_id=delivery_id)
    if result == "retry":
        raise self.retry(
            countdown=delivery_retry_delay(self.request.retries + 1),
            max_retries=delivery_max_attempts(),
        )
    return result


@shared_task(**DELIVERY_TASK)
def deliver_email(self, delivery_id: int) -> str:
    result = email_delivery_attempt(delivery_id=delivery_id)
    if result == "retry":
        raise self.retry(
            countdown=delivery_retry_delay(self.request.retries + 1),
            max_retries=delivery_max_attempts(),
        )
    return result


# Within the task's time limits; a backlog larger than a run prunes in the next runs.
PRUNE_TIME_BUDGET_SECONDS = 240


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=330)
def prune_events() -> int:
    return events_prune(time_budget_seconds=PRUNE_TIME_BUDGET_SECONDS)
