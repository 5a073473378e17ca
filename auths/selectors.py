"""Scoped reads of authentications and of the services a person may authenticate with."""

from django.db.models import Q, QuerySet

from auths.models import Authentication, OAuthTransaction
from services.models import Service, ServiceSource
from workspaces.access import Actor
from workspaces.errors import NotFound
from workspaces.models import Membership
from workspaces.selectors import workspace_list_for_actor


def authentication_list_for_actor(*, actor: Actor) -> QuerySet[Authentication]:
    """Authentications in the workspaces the actor can see (the organization workspace's are
    visible to every member; org owners and admins see every workspace)."""
    return (
        Authentication.objects.filter(
            organization=actor.organization,
            workspace__in=workspace_list_for_actor(actor=actor),
        )
        .select_related("service", "workspace", "owner__user", "organization")
        .order_by("-created_at")
    )


def authentication_get_for_actor(*, actor: Actor, authentication_id) -> Authentication:
    auth = authentication_list_for_actor(actor=actor).filter(pk=authentication_id).first()
    if auth is None:
        raise NotFound("Authentication not found.")
    return auth


def service_list_usable_by_actor(*, actor: Actor) -> QuerySet[Service]:
    """Services the actor may authenticate with: catalog connectors and the organization's custom
    services (available organization-wide). Generic services are made inline, never picked."""
    return Service.objects.filter(
        Q(source=ServiceSource.CONNECTOR)
        | Q(source=ServiceSource.CUSTOM, organization=actor.organization)
    )


def service_get_usable_by_actor(*, actor: Actor, service_id) -> Service:
    service = service_list_usable_by_actor(actor=actor).filter(pk=service_id).first()
    if service is None:
        raise NotFound("Service not found.", field="service")
    return service


def service_visible_to_user(*, user, service_id) -> Service:
    """For the browser routes (OAuth callback): a connector, or a service of an organization where
    the user is an active member."""
    organizations = Membership.objects.filter(user=user, is_active=True).values("organization_id")
    service = (
        Service.objects.filter(pk=service_id)
        .filter(Q(source=ServiceSource.CONNECTOR) | Q(organization_id__in=organizations))
        .first()
    )
    if service is None:
        raise NotFound("Service not found.")
    return service


def oauth_transaction_for_user(*, user, transaction_id) -> OAuthTransaction:
    """An OAuth transaction is visible only to the person who started it."""
    transaction = (
        OAuthTransaction.objects.filter(pk=transaction_id, started_by=user)
        .select_related("service", "result_authentication", "organization")
        .first()
    )
    if transaction is None:
        raise NotFound("Not found.")
    return transaction
