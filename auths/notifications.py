"""Email for the lifecycle events people must act on: expiring, needs re-auth, service flagged.

Once per episode, not once per attempt: an auth's notified_status holds the status already
announced; claiming it is a conditional UPDATE, so concurrent workers announce an episode once.
A recovery or a re-authorization closes the episode.
"""

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from auths.models import Authentication, AuthEvent, EventKind
from workspaces.models import Membership, OrgRole

logger = logging.getLogger(__name__)

EMAIL_KINDS = {EventKind.EXPIRING, EventKind.NEEDS_REAUTH, EventKind.SERVICE_FLAGGED}
# Episodes: announced once (email and webhooks) until a recovery or a re-authorization. A refresh
# failing five times in a row is one refresh_failed episode, not five webhooks.
EPISODE_KINDS = {
    EventKind.EXPIRING,
    EventKind.NEEDS_REAUTH,
    EventKind.ERROR,
    EventKind.REFRESH_FAILED,
}
EPISODE_CLOSERS = {EventKind.RECOVERED, EventKind.REAUTHORIZED}

WHAT_TO_DO = {
    EventKind.EXPIRING: "Re-authenticate it before that date to keep it working.",
    EventKind.NEEDS_REAUTH: "The provider refused it: re-authenticate it to restore access.",
    EventKind.SERVICE_FLAGGED: (
        "Verify or publish the OAuth app with the provider (contact the umbrella application's "
        "support if the service uses it), then re-authenticate the affected auths."
    ),
}


def event_notify(*, event: AuthEvent) -> bool:
    """Close or claim the episode, and queue the email after commit. False when the event repeats
    an episode already announced (callers then send no webhook either)."""
    if event.authentication_ref and event.kind in EPISODE_CLOSERS:
        Authentication.objects.filter(pk=event.authentication_ref).update(notified_status="")
    if event.authentication_ref and event.kind in EPISODE_KINDS:
        claimed = (
            Authentication.objects.filter(pk=event.authentication_ref)
            .exclude(notified_status=event.kind)
            .update(notified_status=event.kind)
        )
        if not claimed:
            return False
    if event.kind in EMAIL_KINDS:
        event_id = event.pk
        transaction.on_commit(lambda: event_email_send(event_id=event_id))
    return True


def recipients_for(*, event: AuthEvent) -> list[str]:
    """The auth's owner (an active member) and the organization's owner; for a service event,
    the owners of the organization's auths on that service too."""
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


def event_email_send(*, event_id) -> int:
    event = AuthEvent.objects.select_related("organization", "service").filter(pk=event_id).first()
    if event is None:
        return 0
    recipients = recipients_for(event=event)
    if not recipients:
        return 0
    subject_target = event.authentication_name or (event.service.name if event.service else "")
    subject = f"[{event.organization.name}] {subject_target}: {event.get_kind_display()}"
    body = "\n\n".join(
        part
        for part in (
            event.message,
            WHAT_TO_DO.get(event.kind, ""),
            f"Organization: {event.organization.name}",
        )
        if part
    )
    try:
        return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except (smtplib.SMTPException, OSError):  # an email outage must not break the lifecycle
        logger.exception("lifecycle email for event %s failed", event_id)
        return 0
