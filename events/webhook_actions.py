"""Sending a webhook delivery again by hand (after the receiver was fixed), from the admin. The
test event is events/webhooks.py: webhook_test_send (it records nothing, so queues nothing)."""

from django.db import transaction

from events.models import WebhookDelivery
from events.recording import webhook_delivery_queue
from events.webhooks import webhook_delivery_reset
from workspaces.access import Actor


@transaction.atomic
def webhook_delivery_redeliver(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Reset the delivery to pending and queue it once this transaction commits: the Celery task
    makes the attempts, with the usual retries, logged on the delivery."""
    delivery = webhook_delivery_reset(actor=actor, delivery=delivery)
    webhook_delivery_queue(delivery_id=delivery.pk)
    return delivery
