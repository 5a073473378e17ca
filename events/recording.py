"""Recording an event: one insert, and — when the event is news — the hand-off of that news to
Celery after the transaction commits (an email for the kinds people must act on, a signed POST to
each matching webhook). Nothing is sent inline.

Nothing here writes an authentication. Whether an event is news is decided by whoever records it:
lifecycle/state.py announces an episode once (a refresh failing five times in a row is one
`refresh_failed` announcement, not five), other callers announce what they record.

An event about an authentication also records its *context*: what the apps above this one know
about the auth that its readers need (EVENT_CONTEXT_PROVIDERS). The embedded app registers one
from its AppConfig.ready(): an end user's auth names its end user, the solution instances using
it and where to re-authenticate. The context is written with the event, so a deletion's event,
delivered after the auth and its end user are gone, still says whose it was.
"""

import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction

from auths.models import Authentication
from events import notifications, tasks, webhooks
from events.models import AuthEvent, EmailDelivery, WebhookDelivery

logger = logging.getLogger(__name__)

# (authentication, event kind) -> keys for the event's context, {} when there is nothing to add.
# Apps above this one append theirs from AppConfig.ready() (this app cannot import them).
EVENT_CONTEXT_PROVIDERS: list[Callable[[Authentication, str], dict]] = []


def event_context(*, authentication: Authentication, kind: str) -> dict:
    context = {}
    for provide in EVENT_CONTEXT_PROVIDERS:
        context.update(provide(authentication, kind))
    return context


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
        context=event_context(authentication=authentication, kind=kind),
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


def organization_event_record(
    *,
    organization_id,
    kind: str,
    message: str = "",
    data: dict | None = None,
    context: dict | None = None,
) -> AuthEvent:
    """An event about neither one auth nor one service (an end user deleted with their auths),
    in the organization's log and announced to its webhooks."""
    event = AuthEvent.objects.create(
        organization_id=organization_id,
        kind=kind,
        message=message,
        data=data or {},
        context=context or {},
    )
    _announce(event)
    return event


def _announce(event: AuthEvent) -> None:
    """Delivery rows now (in the event's transaction), the Celery tasks once it commits: a task
    never looks for a row that a rollback took away. Each delivery is handed off on its own."""
    email = notifications.email_delivery_create(event=event)
    webhook_deliveries = webhooks.deliveries_create(event=event)
    if email is not None:
        transaction.on_commit(lambda: _hand_off("email", email.pk))
    for delivery_id in webhook_deliveries:
        transaction.on_commit(lambda d=delivery_id: _hand_off("webhook", d))


def webhook_delivery_queue(*, delivery_id: int) -> None:
    """Hand a pending webhook delivery to Celery once the current transaction commits (a delivery
    sent again by hand: events/webhook_actions.py)."""
    transaction.on_commit(lambda: _hand_off("webhook", delivery_id))


HAND_OFFS = {
    "email": (lambda: tasks.deliver_email, EmailDelivery),
    "webhook": (lambda: tasks.deliver_webhook, WebhookDelivery),
}


def _hand_off(kind: str, delivery_id: int) -> None:
    """Queue one delivery, after commit. This is an isolation boundary, so it catches everything:
    an exception here would skip the on-commit work queued after it (the other deliveries) and
    reach whoever committed — a request answering 500 for a change that is saved. A failure is
    logged with its traceback (the task's only argument is the row id: nothing secret) and
    written on the delivery, which stays pending."""
    task, model = HAND_OFFS[kind]
    try:
        task().delay(delivery_id)
    except Exception as error:
        logger.error("%s delivery %s was not queued", kind, delivery_id, exc_info=True)
        try:
            model.objects.filter(pk=delivery_id).update(
                last_error=f"Not queued: {type(error).__name__}: {error}"[:500]
            )
        except DatabaseError:
            logger.error("could not record that %s delivery %s was not queued", kind, delivery_id)
