"""Scoped reads of services. Views call these, never Service.objects.

- the catalog (connectors) is the same for everyone;
- every member sees, as a *picker view*, the connectors and all of the organization's custom
  services (they are usable organization-wide);
- the full definition of a custom service is for its owner, the org owner and admins
  (services.rules.may_manage_custom_service);
- generic definitions are never listed as services; another organization's services do not exist.
"""

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from infrastructure.errors import NotFound
from services.models import Service, ServiceSource
from workspaces.access import Actor
from workspaces.models import Membership


def _search(queryset: QuerySet, search: str | None) -> QuerySet:
    if search:
        search = search.strip()
        queryset = queryset.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(description__icontains=search)
        )
    return queryset


def connector_list(*, search: str | None = None) -> QuerySet[Service]:
    return _search(Service.objects.filter(source=ServiceSource.CONNECTOR), search)


def service_list_for_actor(
    *,
    actor: Actor,
    search: str | None = None,
    source: str | None = None,
    columns: Sequence[str] | None = None,
) -> QuerySet[Service]:
    """What a member can pick to create authentications with: connectors and the organization's
    custom services. `columns` (for reads that render; `owner__email` names a column of a related
    row) loads those alone: the service row is wide and most of its JSON columns are not shown."""
    queryset = Service.objects.filter(
        Q(source=ServiceSource.CONNECTOR)
        | Q(source=ServiceSource.CUSTOM, organization=actor.organization)
    ).select_related("organization__service_account", "owner")
    if columns is not None:
        queryset = queryset.only(*columns)
    if source:
        queryset = queryset.filter(source=source)
    return _search(queryset, search)


def custom_service_list_for_actor(*, actor: Actor, search: str | None = None) -> QuerySet[Service]:
    """The custom services the actor sees in full: all of the organization's for the org owner and
    admins, their own for everyone else."""
    # Joins what the list renders (owner, template, the service account in warnings); the
    # workspace is rendered as its id.
    queryset = Service.objects.filter(
        source=ServiceSource.CUSTOM, organization=actor.organization
    ).select_related("organization__service_account", "owner", "template")
    if not actor.is_owner_or_admin:
        if actor.user is None:
            return queryset.none()
        queryset = queryset.filter(owner=actor.user)
    return _search(queryset, search)


def custom_service_in_organization(*, actor: Actor) -> QuerySet[Service]:
    """All of the organization's custom services (detail views decide picker vs full)."""
    return Service.objects.filter(
        source=ServiceSource.CUSTOM, organization=actor.organization
    ).select_related("organization__service_account", "owner", "workspace", "template")


def service_visible_to_user(*, user, service_id) -> Service:
    """For the browser routes (OAuth callback), which know a person but no organization: a
    connector, or a service of an organization where the user is an active member."""
    organizations = Membership.objects.filter(user=user, is_active=True).values("organization_id")
    service = (
        Service.objects.filter(pk=service_id)
        .filter(Q(source=ServiceSource.CONNECTOR) | Q(organization_id__in=organizations))
        .first()
    )
    if service is None:
        raise NotFound("Service not found.")
    return service


def own_oauth_apps_of_connector(*, connector: Service, organization_ids) -> QuerySet[Service]:
    """The custom services the given organizations made from a catalog connector ("bring your own
    OAuth app"): the way to connect a connector that has no OAuth app of its own."""
    return Service.objects.filter(
        source=ServiceSource.CUSTOM, template=connector, organization_id__in=organization_ids
    ).order_by("name")
