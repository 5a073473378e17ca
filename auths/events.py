"""The event log of authentications: every lifecycle change is recorded here, and
notifications (email, webhooks) are dispatched from here, after the transaction commits."""

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
    _dispatch(event)
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
    _dispatch(event)
    return event


def _dispatch(event: AuthEvent) -> None:
    from auths.notifications import event_notify
    from auths.webhooks import deliveries_enqueue

    if not event_notify(event=event):
        return
    deliveries_enqueue(event=event)


def event_list_for_actor(*, actor, authentication_id=None):
    """Events the actor may read: those of auths in workspaces they are in; owners and admins also
    see service-level events and the events of deleted auths."""
    from workspaces.selectors import workspace_list_for_actor

    events = AuthEvent.objects.filter(organization=actor.organization).select_related("service")
    if authentication_id is not None:
        events = events.filter(authentication_ref=authentication_id)
    if actor.is_owner_or_admin:
        return events
    return events.filter(authentication__workspace__in=workspace_list_for_actor(actor=actor))


def authentication_visible(*, actor, authentication_id) -> bool:
    from workspaces.selectors import workspace_list_for_actor

    return Authentication.objects.filter(
        pk=authentication_id,
        organization=actor.organization,
        workspace__in=workspace_list_for_actor(actor=actor),
    ).exists()
