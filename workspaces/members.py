"""Members: the membership record, role changes and deactivation. People join through an
invitation (workspaces/invitations.py), which makes their membership when they accept it."""

from django.db import transaction

from infrastructure.errors import NotAllowed, RuleViolation
from workspaces.access import Actor, require_owner_or_admin
from workspaces.models import Membership, Organization, OrgRole, User, Workspace, WorkspaceKind


def membership_create(*, organization: Organization, user: User, role: str) -> Membership:
    """The one place a membership is created: the member's personal workspace comes with it."""
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    Workspace.objects.create(
        organization=organization,
        kind=WorkspaceKind.PERSONAL,
        name=f"{user.name or user.email} (personal)",
        personal_owner=membership,
    )
    return membership


def require_may_grant(actor: Actor, role: str) -> None:
    """Raise unless the actor may give someone this role (invitations, role changes)."""
    if role == OrgRole.OWNER:
        raise RuleViolation(
            "An organization has exactly one owner; use the ownership transfer instead.",
            field="role",
        )
    if role == OrgRole.ADMIN and not actor.is_owner:
        raise NotAllowed("Only the owner can make someone an admin.")


def _require_may_manage(actor: Actor, membership: Membership) -> None:
    require_owner_or_admin(actor, "manage members")
    if membership.organization_id != actor.organization.pk:
        raise RuleViolation("That membership belongs to another organization.")
    if membership.role == OrgRole.OWNER:
        raise RuleViolation(
            "The owner's role changes only by transferring ownership.", field="role"
        )
    if membership.role == OrgRole.ADMIN and not actor.is_owner:
        raise NotAllowed("Only the owner can change or deactivate an admin.")


@transaction.atomic
def member_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    _require_may_manage(actor, membership)
    require_may_grant(actor, role)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_deactivate(*, actor: Actor, membership: Membership) -> Membership:
    """Remove a member's access. Their assets stay where they are (personal workspace included);
    custom services they own are handed over to the organization's service account first."""
    _require_may_manage(actor, membership)
    organization = membership.organization
    if organization.service_account_id == membership.user_id:
        raise RuleViolation(
            "This member is the organization's service account; name another service account first.",
            field="membership",
        )
    for hand_over in DEACTIVATION_STEPS:
        hand_over(actor=actor, membership=membership)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    return membership


# Steps other apps need before a member goes (e.g. handing custom services to the service
# account). Each takes (actor, membership) and raises RuleViolation to refuse. Listed explicitly
# where they are defined, so the order is visible: see services.apps (custom services).
DEACTIVATION_STEPS: list = []
