"""Run what the Celery worker would run for pending notifications, with the real task code."""

from events.models import DeliveryStatus, EmailDelivery
from events.notifications import email_delivery_attempt


def deliver_pending_emails() -> list[str]:
    """One attempt for every pending email delivery (as events.tasks.deliver_email makes)."""
    pending = EmailDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk")
    return [email_delivery_attempt(delivery_id=pk) for pk in pending.values_list("pk", flat=True)]
