"""Shared workspaces: the only kind people create, rename, delete and fill with members.

Organization, personal and embedded workspaces come and go with the organization and its members
(organizations.py, members.py).
"""

from django.db import transaction
from django.db.models import ProtectedError

from infrastructure.errors import Conflict, NotAllowed, RuleViolation, held_rows_description
from infrastructure.text import name_check
from workspaces.access import Actor, require_workspace_role
from workspaces.models import (
    Membership,
    OrgRole,
    Workspace,
    WorkspaceKind,
    WorkspaceMembership,
    WorkspaceRole,
)

MEMBER_MANAGED_KINDS = (WorkspaceKind.SHARED, WorkspaceKind.EMBEDDED)


@transaction.atomic
def workspace_create(*, actor: Actor, name: str, kind: str = WorkspaceKind.SHARED) -> Workspace:
    if kind != WorkspaceKind.SHARED:
        raise RuleViolation(
            f"Only shared workspaces can be created; the {kind} workspace is created by the "
            "platform.",
            field="kind",
        )
    if actor.role == OrgRole.VIEWER:
        raise NotAllowed("Viewers cannot create workspaces.")
    if not name.strip():
        raise RuleViolation("Give the workspace a name.", field="name")
    name_check(name, what="A workspace's name")
    workspace = Workspace.objects.create(organization=actor.organization, kind=kind, name=name)
    if actor.membership is not None and not actor.is_owner_or_admin:
        # The creator administers what they created.
        WorkspaceMembership.objects.create(
            workspace=workspace, membership=actor.membership, role=WorkspaceRole.ADMIN
        )
    return workspace


def workspace_rename(*, actor: Actor, workspace: Workspace, name: str) -> Workspace:
    require_workspace_role(actor=actor, workspace=workspace, roles=(WorkspaceRole.ADMIN,))
    if not name.strip():
        raise RuleViolation("Give the workspace a name.", field="name")
    name_check(name, what="A workspace's name")
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


def workspace_delete_check(*, actor: Actor, workspace: Workspace) -> None:
    """Raise unless the actor may delete this workspace (the admin asks before it confirms)."""
    require_workspace_role(actor=actor, workspace=workspace, roles=(WorkspaceRole.ADMIN,))
    if workspace.kind != WorkspaceKind.SHARED:
        raise RuleViolation(
            f"The {workspace.kind} workspace cannot be deleted; only shared workspaces can."
        )


def workspace_delete(*, actor: Actor, workspace: Workspace) -> None:
    """Delete an empty shared workspace. What it still holds (authentications, and the inline
    services that go with them) is kept by PROTECT foreign keys of the apps above this one; the
    refusal names it."""
    workspace_delete_check(actor=actor, workspace=workspace)
    try:
        with transaction.atomic():
            workspace.delete()
    except ProtectedError as error:
        held, count = held_rows_description(error.protected_objects)
        raise Conflict(
            f"Workspace '{workspace.name}' still holds {held}: move or delete "
            f"{'it' if count == 1 else 'them'} first.",
            code="workspace_not_empty",
        ) from None


def _require_members_managed(actor: Actor, workspace: Workspace) -> None:
    require_workspace_role(actor=actor, workspace=workspace, roles=(WorkspaceRole.ADMIN,))
    if workspace.kind not in MEMBER_MANAGED_KINDS:
        raise RuleViolation(
            f"The {workspace.kind} workspace's members follow the organization; only shared and "
            "embedded workspaces have their own members."
        )


@transaction.atomic
def workspace_member_add(
    *,
    actor: Actor,
    workspace: Workspace,
    membership: Membership,
    role: str = WorkspaceRole.CONTRIBUTOR,
) -> WorkspaceMembership:
    _require_members_managed(actor, workspace)
    if membership.organization_id != workspace.organization_id or not membership.is_active:
        raise RuleViolation(
            "Only active members of this organization can join its workspaces.", field="membership"
        )
    if WorkspaceMembership.objects.filter(workspace=workspace, membership=membership).exists():
        raise RuleViolation("That member is already in the workspace.", field="membership")
    return WorkspaceMembership.objects.create(workspace=workspace, membership=membership, role=role)


def workspace_member_change_role(
    *, actor: Actor, row: WorkspaceMembership, role: str
) -> WorkspaceMembership:
    _require_members_managed(actor, row.workspace)
    row.role = role
    row.save(update_fields=["role"])
    return row


def workspace_member_remove_check(*, actor: Actor, row: WorkspaceMembership) -> None:
    """Raise unless the actor may remove this member (the admin asks before it confirms)."""
    _require_members_managed(actor, row.workspace)


def workspace_member_remove(*, actor: Actor, row: WorkspaceMembership) -> None:
    workspace_member_remove_check(actor=actor, row=row)
    row.delete()
