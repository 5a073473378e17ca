"""Scoped reads of the event log, webhooks and their deliveries. Views call these."""

from django.db.models import QuerySet

from events.models import AuthEvent, Webhook, WebhookDelivery
from infrastructure.errors import NotFound
from workspaces.access import Actor
from workspaces.selectors import workspace_list_for_actor

EVENT_LIST_COLUMNS = (
    "id",
    "organization_id",
    "kind",
    "message",
    "data",
    "authentication_ref",
    "authentication_name",
    "service_id",
    "service__name",
    "context",
    "created_at",
)


def event_list_for_actor(*, actor: Actor, authentication_id=None) -> QuerySet[AuthEvent]:
    """Events the actor may read: those of auths in workspaces they are in, end users' auths left
    out (like the auths themselves, auths/selectors.py); owners and admins also see service-level
    and organization events and the events of deleted auths. Only the columns the API renders
    (events/serializers.py): of the service, its name."""
    events = (
        AuthEvent.objects.filter(organization=actor.organization)
        .select_related("service")
        .only(*EVENT_LIST_COLUMNS)
    )
    if authentication_id is not None:
        events = events.filter(authentication_ref=authentication_id)
    if actor.is_owner_or_admin:
        return events
    return events.filter(
        authentication__workspace__in=workspace_list_for_actor(actor=actor),
        authentication__end_user__isnull=True,
    )


def webhook_list_for_actor(*, actor: Actor) -> QuerySet[Webhook]:
    if not actor.is_owner_or_admin:
        return Webhook.objects.none()
    return Webhook.objects.filter(organization=actor.organization).order_by("created_at")


def webhook_get(*, actor: Actor, webhook_id) -> Webhook:
    webhook = webhook_list_for_actor(actor=actor).filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound("Webhook not found.")
    return webhook


def delivery_list_for_actor(*, actor: Actor, webhook_id=None) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(
        webhook__in=webhook_list_for_actor(actor=actor)
    ).select_related("event")
    if webhook_id is not None:
        deliveries = deliveries.filter(webhook_id=webhook_id)
    return deliveries.order_by("-created_at", "-id")
