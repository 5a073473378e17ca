"""Who is acting, in which organization, with which role.

Every request is resolved to an Actor once, from the URL's organization and the credential (a
session user, a user API key or an organization API key). Someone who is not an active member of
the organization gets NotFound, so ids and slugs are not an oracle.
"""

from dataclasses import dataclass

from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from workspaces.models import (
    EndUser,
    Membership,
    Organization,
    OrganizationAPIKey,
    OrgRole,
    User,
    Workspace,
    WorkspaceKind,
    WorkspaceMembership,
    WorkspaceRole,
)

# The role of an end user of an embedded solution: not an org role, it grants nothing but their own
# authentications in the embedded workspace.
END_USER_ROLE = "end_user"


@dataclass(frozen=True)
class Actor:
    organization: Organization
    role: str
    # An organization API key acts without a person: user and membership are then None.
    user: User | None = None
    membership: Membership | None = None
    # An end user (through a one-time code): no user, no membership.
    end_user: EndUser | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == OrgRole.OWNER

    @property
    def is_owner_or_admin(self) -> bool:
        return self.role in (OrgRole.OWNER, OrgRole.ADMIN)

    @property
    def label(self) -> str:
        if self.end_user is not None:
            return f"end user {self.end_user.external_user_id}"
        return str(self.user) if self.user else f"API key of {self.organization}"


def actor_for_end_user(end_user: EndUser) -> Actor:
    """An end user acting through a one-time code (the wizard, a connect link)."""
    return Actor(organization=end_user.organization, role=END_USER_ROLE, end_user=end_user)


def actor_for(*, organization: Organization, user=None, api_key=None) -> Actor:
    """Resolve the actor, or raise NotFound when the credential has no access to the organization."""
    if isinstance(api_key, OrganizationAPIKey):
        if api_key.organization_id != organization.pk:
            raise NotFound("Organization not found.")
        return Actor(organization=organization, role=OrgRole.ADMIN)
    if user is None or not user.is_authenticated:
        raise NotFound("Organization not found.")
    membership = (
        Membership.objects.filter(organization=organization, user=user, is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound("Organization not found.")
    return Actor(organization=organization, role=membership.role, user=user, membership=membership)


def actor_for_slug(*, slug: str, user=None, api_key=None) -> Actor:
    """actor_for the organization of the URL. A person's membership and its organization are
    read in one query (every API request of a person starts here)."""
    if api_key is None or not isinstance(api_key, OrganizationAPIKey):
        if user is None or not user.is_authenticated:
            raise NotFound("Organization not found.")
        membership = (
            Membership.objects.filter(organization__slug=slug, user=user, is_active=True)
            .select_related("organization")
            .first()
        )
        if membership is None:
            raise NotFound("Organization not found.")
        membership.user = user
        return Actor(
            organization=membership.organization,
            role=membership.role,
            user=user,
            membership=membership,
        )
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise NotFound("Organization not found.")
    return actor_for(organization=organization, user=user, api_key=api_key)


def workspace_role(*, actor: Actor, workspace: Workspace) -> str | None:
    """The actor's effective role in a workspace, or None when they are not in it.

    Org owners and admins are admins of every workspace. The organization workspace holds everyone
    with their org role; a personal workspace belongs to its member alone; shared and embedded
    workspaces hold the members added to them.
    """
    if workspace.organization_id != actor.organization.pk:
        return None
    if actor.end_user is not None:
        # Their own auths in the embedded workspace: the selectors narrow it to those.
        return WorkspaceRole.CONTRIBUTOR if workspace.kind == WorkspaceKind.EMBEDDED else None
    if actor.is_owner_or_admin:
        return WorkspaceRole.ADMIN
    if workspace.kind == WorkspaceKind.ORGANIZATION:
        return WorkspaceRole.VIEWER if actor.role == OrgRole.VIEWER else WorkspaceRole.CONTRIBUTOR
    if workspace.kind == WorkspaceKind.PERSONAL:
        if actor.membership and workspace.personal_owner_id == actor.membership.pk:
            return WorkspaceRole.ADMIN
        return None
    if actor.membership is None:
        return None
    row = WorkspaceMembership.objects.filter(
        workspace=workspace, membership=actor.membership
    ).first()
    if row is None:
        return None
    if actor.role == OrgRole.VIEWER:
        # An org viewer never writes, whatever the workspace says.
        return WorkspaceRole.VIEWER
    return row.role


def require_workspace_role(*, actor: Actor, workspace: Workspace, roles: tuple[str, ...]) -> str:
    role = workspace_role(actor=actor, workspace=workspace)
    if role is None:
        raise NotFound("Workspace not found.")
    if role not in roles:
        raise NotAllowed(
            f"Your role in workspace '{workspace.name}' is {role}; this needs {' or '.join(roles)}."
        )
    return role


def require_asset_creation(*, actor: Actor, workspace: Workspace) -> None:
    """Raise unless the actor may create assets (services, authentications) in the workspace.

    Only its owner creates assets in a personal workspace, even org owners and admins; and an org
    viewer creates nothing anywhere, their own personal workspace included (there the workspace
    role is admin, so the org role has to be asked).
    """
    if workspace.kind == WorkspaceKind.PERSONAL:
        if actor.membership is None or workspace.personal_owner_id != actor.membership.pk:
            if workspace_role(actor=actor, workspace=workspace) is None:
                raise NotFound("Workspace not found.")
            raise NotAllowed(
                "Only the owner of a personal workspace creates assets in it.", field="workspace"
            )
        if actor.role == OrgRole.VIEWER:
            raise NotAllowed(
                f"Your role in {actor.organization.name} is viewer: viewers use what is shared "
                "with them and create nothing, not even in their personal workspace. Ask the "
                "organization's owner or an admin for the contributor role."
            )
        return
    require_workspace_role(
        actor=actor, workspace=workspace, roles=(WorkspaceRole.ADMIN, WorkspaceRole.CONTRIBUTOR)
    )


def require_owner_or_admin(actor: Actor, action: str) -> None:
    if not actor.is_owner_or_admin:
        raise NotAllowed(f"Only the organization's owner or an admin can {action}.")


def require_owner(actor: Actor, action: str) -> None:
    if not actor.is_owner:
        raise NotAllowed(f"Only the organization's owner can {action}.")


def asset_workspace(*, actor: Actor, workspace: Workspace | None = None) -> Workspace:
    """Where a new asset (a custom service, an authentication) goes: the workspace named, if it is
    the organization's; else the actor's personal workspace on the platform edition, or the
    embedded workspace on the embedded edition. Whether the actor may create there is the
    caller's check (require_asset_creation, or the custom-service rules)."""
    if workspace is not None:
        if workspace.organization_id != actor.organization.pk:
            raise NotFound("Workspace not found.", field="workspace")
        return workspace
    organization = actor.organization
    if organization.has_platform and actor.membership is not None:
        return Workspace.objects.get(personal_owner=actor.membership)
    if organization.has_embedded:
        return Workspace.objects.get(organization=organization, kind=WorkspaceKind.EMBEDDED)
    raise RuleViolation(
        "Name the workspace: an organization API key has no personal workspace.",
        field="workspace",
    )
