"""Run what the Celery worker would run for pending notifications, with the real task code."""

from kombu.exceptions import OperationalError

from events import tasks
from events.models import DeliveryStatus, EmailDelivery
from events.notifications import email_delivery_attempt


def deliver_pending_emails() -> list[str]:
    """One attempt for every pending email delivery (as events.tasks.deliver_email makes)."""
    pending = EmailDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk")
    return [email_delivery_attempt(delivery_id=pk) for pk in pending.values_list("pk", flat=True)]


class InlineBroker:
    """Stands in for the Celery broker in one test: every hand-off (`task.delay(id)`) runs the real
    task at once in this process (`task.apply`), except those `refuse` names, which fail the way
    a broker outage does. `handed` lists what was handed off, in order."""

    def __init__(self, monkeypatch, refuse=lambda task_name, delivery_id: False):
        self.refuse = refuse
        self.handed: list[tuple[str, int]] = []
        for name in ("deliver_email", "deliver_webhook"):
            monkeypatch.setattr(tasks, name, _Handoff(self, name, getattr(tasks, name)))


class _Handoff:
    def __init__(self, broker: InlineBroker, name: str, task):
        self.broker, self.name, self.task = broker, name, task

    def delay(self, delivery_id):
        if self.broker.refuse(self.name, delivery_id):
            raise OperationalError("Error 111 connecting to the broker. Connection refused.")
        self.broker.handed.append((self.name, delivery_id))
        return self.task.apply(args=[delivery_id])
