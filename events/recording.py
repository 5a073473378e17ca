"""Recording an event: one insert, and — when the event is news — the hand-off of that news to
Celery after the transaction commits (an email for the kinds people must act on, a signed POST to
each matching webhook). Nothing is sent inline.

Nothing here writes an authentication. Whether an event is news is decided by whoever records it:
lifecycle/state.py announces an episode once (a refresh failing five times in a row is one
`refresh_failed` announcement, not five), other callers announce what they record.
"""

from django.db import transaction

from auths.models import Authentication
from events import notifications, tasks, webhooks
from events.models import AuthEvent


def event_record(
    *,
    authentication: Authentication,
    kind: str,
    message: str = "",
    data: dict | None = None,
    announce: bool = True,
) -> AuthEvent:
    event = AuthEvent.objects.create(
        organization_id=authentication.organization_id,
        authentication=authentication,
        authentication_ref=authentication.pk,
        authentication_name=authentication.name,
        service_id=authentication.service_id,
        kind=kind,
        message=message,
        data=data or {},
    )
    if announce:
        _announce(event)
    return event


def service_event_record(
    *, organization_id, service, kind: str, message: str = "", data: dict | None = None
) -> AuthEvent:
    """An event about a service as a whole (flagged, cleared), in one organization's log."""
    event = AuthEvent.objects.create(
        organization_id=organization_id,
        service=service,
        kind=kind,
        message=message,
        data=data or {},
    )
    _announce(event)
    return event


def _announce(event: AuthEvent) -> None:
    """Delivery rows now (in the event's transaction), the Celery tasks once it commits: a task
    never looks for a row that a rollback took away."""
    email = notifications.email_delivery_create(event=event)
    webhook_deliveries = webhooks.deliveries_create(event=event)
    if email is not None:
        transaction.on_commit(lambda: tasks.deliver_email.delay(email.pk))
    for delivery_id in webhook_deliveries:
        transaction.on_commit(lambda d=delivery_id: tasks.deliver_webhook.delay(d))
