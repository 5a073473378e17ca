"""The event log of authentications: every lifecycle change is recorded here, and
notifications (email, webhooks) are dispatched from here."""

from auths.models import Authentication, AuthEvent


def event_record(
    *, authentication: Authentication, kind: str, message: str = "", data: dict | None = None
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
    return event
