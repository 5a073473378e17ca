"""Scoped reads. Views call these, never Model.objects on tenant data."""

from django.db.models import Q, QuerySet

from infrastructure.errors import DomainError
from workspaces.access import Actor, require_asset_creation
from workspaces.models import (
    Membership,
    Organization,
    OrganizationAPIKey,
    OrgRole,
    UserAPIKey,
    Workspace,
    WorkspaceKind,
)


def organization_list_for_user(*, user) -> QuerySet[Organization]:
    return Organization.objects.filter(
        memberships__user=user, memberships__is_active=True
    ).distinct()


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    """A person's own active memberships, with their organizations (the member home page)."""
    return (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )


def member_list_for_actor(*, actor: Actor) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=actor.organization).select_related("user")


def workspace_list_for_actor(*, actor: Actor) -> QuerySet[Workspace]:
    """Workspaces the actor is in: all of them for org owners and admins; otherwise the
    organization workspace, their personal workspace, and shared/embedded ones they were added to."""
    workspaces = Workspace.objects.filter(organization=actor.organization)
    if actor.is_owner_or_admin:
        return workspaces
    if actor.membership is None:
        return workspaces.none()
    return workspaces.filter(
        Q(kind=WorkspaceKind.ORGANIZATION)
        | Q(personal_owner=actor.membership)
        | Q(members__membership=actor.membership)
    ).distinct()


def user_api_key_list_for_user(*, user) -> QuerySet[UserAPIKey]:
    return UserAPIKey.objects.filter(user=user)


def organization_api_key_list_for_actor(*, actor: Actor) -> QuerySet[OrganizationAPIKey]:
    if not actor.is_owner:
        return OrganizationAPIKey.objects.none()
    return OrganizationAPIKey.objects.filter(organization=actor.organization)


def owned_organization_ids(user) -> list:
    """The organizations `user` owns: what an org owner sees in the admin."""
    if not (user.is_active and user.is_authenticated):
        return []
    return list(
        Membership.objects.filter(user=user, role=OrgRole.OWNER, is_active=True).values_list(
            "organization_id", flat=True
        )
    )


def may_use_admin(user) -> bool:
    return user.is_active and (user.is_superuser or bool(owned_organization_ids(user)))


def workspace_list_for_asset_creation(*, actor: Actor) -> list[Workspace]:
    """The workspaces where the actor may create authentications (require_asset_creation), for
    the pages' workspace choices: the same rule the domain functions apply, asked per workspace."""
    allowed = []
    for workspace in workspace_list_for_actor(actor=actor).order_by("kind", "name"):
        try:
            require_asset_creation(actor=actor, workspace=workspace)
        except DomainError:
            continue
        allowed.append(workspace)
    return allowed
