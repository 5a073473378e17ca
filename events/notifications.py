"""Email for the events people must act on: expiring, needs re-authentication, service flagged.

An announced event of one of these kinds gets an EmailDelivery row (events/recording.py); the
Celery task deliver_email sends it with the SMTP timeout (EMAIL_TIMEOUT) and retries it like a
webhook delivery, logging every attempt on the row. Whether an event is announced at all (once per
episode) is lifecycle/state.py's decision.
"""

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication
from events.models import AuthEvent, DeliveryStatus, EmailDelivery, EventKind
from events.retries import delivery_max_attempts
from infrastructure.text import single_line
from workspaces.models import Membership, OrgRole
from workspaces.sign_in import site_address

logger = logging.getLogger(__name__)

EMAIL_KINDS = {EventKind.EXPIRING, EventKind.NEEDS_REAUTH, EventKind.SERVICE_FLAGGED}

WHAT_TO_DO = {
    EventKind.EXPIRING: "Re-authenticate it before that date to keep it working.",
    EventKind.NEEDS_REAUTH: "The provider refused it: re-authenticate it to restore access.",
    EventKind.SERVICE_FLAGGED: (
        "Verify or publish the OAuth app with the provider (contact the umbrella application's "
        "support if the service uses it), then re-authenticate the affected auths."
    ),
}


def email_delivery_create(*, event: AuthEvent) -> EmailDelivery | None:
    """The pending email for an announced event, if its kind is one people must act on."""
    if event.kind not in EMAIL_KINDS:
        return None
    return EmailDelivery.objects.create(event=event)


def recipients_for(*, event: AuthEvent) -> list[str]:
    """The auth's owner (an active member) and the organization's owner; for a service event,
    the owners of the organization's auths on that service too.

    End users are never emailed: they are the embedded customer's people, and the customer tells
    them (its webhooks carry the end user and the re-authentication link). An end user's auth has
    no member owner, so its email goes to the organization's owner alone, who hears about every
    auth of the organization as before."""
    emails = list(
        Membership.objects.filter(
            organization_id=event.organization_id, role=OrgRole.OWNER, is_active=True
        ).values_list("user__email", flat=True)
    )
    if event.authentication_ref:
        owners = Authentication.objects.filter(pk=event.authentication_ref)
    else:
        owners = Authentication.objects.filter(
            organization_id=event.organization_id, service_id=event.service_id
        )
    emails += owners.filter(owner__is_active=True).values_list("owner__user__email", flat=True)
    return sorted({e for e in emails if e})


# The member pages (pages/urls.py) by their URL names: the email links to the page that acts.
REAUTHENTICATE_PAGE = "connections:reauthenticate"
CONNECTIONS_PAGE = "connections:list"


def action_link(event: AuthEvent) -> str:
    """The absolute address where a member acts on the event: the Re-authenticate page of a
    member's auth on the Connections page (it opens after signing in, for whoever may see it), or
    the Connections page for a service event. None for an end user's auth: the customer tells
    the end user (its webhooks carry the auth dialog's link), and for an auth already gone."""
    if event.context.get("end_user") or event.kind not in (
        EventKind.EXPIRING,
        EventKind.NEEDS_REAUTH,
        EventKind.SERVICE_FLAGGED,
    ):
        return ""
    if event.authentication_ref:
        if not Authentication.objects.filter(pk=event.authentication_ref).exists():
            return ""
        path = reverse(
            REAUTHENTICATE_PAGE,
            kwargs={
                "organization_slug": event.organization.slug,
                "authentication_id": event.authentication_ref,
            },
        )
    else:
        path = reverse(CONNECTIONS_PAGE)
    return site_address() + path


def email_content(event: AuthEvent) -> tuple[str, str]:
    target = event.authentication_name or (event.service.name if event.service else "")
    # A header is one line whatever the names hold: names are checked when they are given
    # (infrastructure/text.py), but older rows, the admin or the database may still hold a line
    # break (BadHeaderError, or a forged header) or an escape sequence.
    subject = single_line(f"[{event.organization.name}] {target}: {event.get_kind_display()}")
    link = action_link(event)
    if link:
        link = (
            f"Re-authenticate it here: {link}"
            if event.authentication_ref
            else f"Your connections: {link}"
        )
    body = "\n\n".join(
        part
        for part in (
            event.message,
            WHAT_TO_DO.get(event.kind, ""),
            link,
            f"Organization: {event.organization.name}",
        )
        if part
    )
    return subject, body


def email_delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt. Returns 'delivered', 'retry', 'failed' or 'skipped'."""
    delivery = (
        EmailDelivery.objects.select_related("event__organization", "event__service")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    recipients = recipients_for(event=delivery.event)
    attempts = delivery.attempts + 1
    if not recipients:
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, attempts=attempts, last_error="Nobody to tell."
        )
        return "failed"
    subject, body = email_content(delivery.event)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except (smtplib.SMTPException, OSError, ValueError) as error:
        # ValueError: what the message itself is refused with (BadHeaderError, an address that
        # cannot be encoded); recorded on the delivery like an outage rather than lost in a
        # task failure.
        final = attempts >= delivery_max_attempts()
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            attempts=attempts,
            recipients=recipients,
            last_error=f"{type(error).__name__}: {error}"[:500],
        )
        logger.warning(
            "email for event %s attempt %s failed: %s", delivery.event_id, attempts, error
        )
        return "failed" if final else "retry"
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERED,
        attempts=attempts,
        recipients=recipients,
        last_error="",
        delivered_at=timezone.now(),
    )
    return "delivered"
