"""Who may create and manage custom services, and where (the product's source rules):

- platform edition: a custom service is created only in the creator's **personal** workspace;
- embedded edition: only in the **embedded** workspace, and only by the **org owner**;
- an organization with both editions may do either;
- a custom service is usable organization-wide, but seen and edited in full only by its owner;
  the org owner and admins may act on it for governance.
"""

from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from services.models import Service, ServiceSource
from workspaces.access import Actor, require_asset_creation
from workspaces.models import Edition, OrgRole, Workspace, WorkspaceKind

WHERE = {
    Edition.PLATFORM: "in your personal workspace",
    Edition.EMBEDDED: "in the embedded workspace, by the organization owner",
    Edition.BOTH: (
        "in your personal workspace (platform edition) or in the embedded workspace by the "
        "organization owner (embedded edition)"
    ),
}


def require_may_create_custom_service(*, actor: Actor, workspace: Workspace) -> None:
    organization = actor.organization
    if workspace.organization_id != organization.pk:
        raise NotFound("Workspace not found.", field="workspace")
    where = WHERE[organization.edition]
    if workspace.kind == WorkspaceKind.PERSONAL:
        if not organization.has_platform:
            raise RuleViolation(
                "This organization has the embedded edition only: custom services are created "
                "in the embedded workspace, by the organization owner.",
                field="workspace",
            )
        if actor.role == OrgRole.VIEWER:
            raise NotAllowed(
                "Viewers cannot create custom services; ask an admin for the contributor role.",
                field="workspace",
            )
        require_asset_creation(actor=actor, workspace=workspace)
        return
    if workspace.kind == WorkspaceKind.EMBEDDED:
        if not organization.has_embedded:
            raise RuleViolation(
                f"Custom services are created {where}.", field="workspace"
            )  # pragma: no cover - an embedded workspace exists only with the embedded edition
        if not actor.is_owner or actor.user is None:
            raise NotAllowed(
                "Only the organization owner creates custom services in the embedded workspace.",
                field="workspace",
            )
        return
    raise RuleViolation(
        f"Custom services cannot be created in the {workspace.kind} workspace '{workspace.name}'; "
        f"they are created {where}, and are then usable organization-wide.",
        field="workspace",
    )


def may_manage_custom_service(*, actor: Actor, service: Service) -> bool:
    """Its owner sees and edits it in full; the org owner and admins may act on it for
    governance. Everyone else in the organization gets the picker view."""
    if service.source != ServiceSource.CUSTOM or service.organization_id != actor.organization.pk:
        return False
    if actor.is_owner_or_admin:
        return True
    return actor.user is not None and service.owner_id == actor.user.pk


def require_may_manage_custom_service(*, actor: Actor, service: Service, action: str) -> None:
    if service.source != ServiceSource.CUSTOM or service.organization_id != actor.organization.pk:
        raise NotFound("Service not found.")
    if not may_manage_custom_service(actor=actor, service=service):
        raise NotAllowed(
            f"Only the owner of the custom service '{service.name}', the organization owner and "
            f"admins can {action} it; you can still pick it to create authentications."
        )
