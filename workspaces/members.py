"""Adding members, changing their roles and deactivating them."""

from django.db import transaction

from infrastructure.errors import NotAllowed, RuleViolation
from infrastructure.text import name_check
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


def _require_may_grant(actor: Actor, role: str) -> None:
    if role == OrgRole.OWNER:
        raise RuleViolation(
            "An organization has exactly one owner; use the ownership transfer instead.",
            field="role",
        )
    if role == OrgRole.ADMIN and not actor.is_owner:
        raise NotAllowed("Only the owner can make someone an admin.")


@transaction.atomic
def member_add(
    *, actor: Actor, email: str, role: str = OrgRole.CONTRIBUTOR, name: str = ""
) -> Membership:
    """Add a person by email (creating their user, without a password, if they are new), or
    reactivate them if they were deactivated."""
    require_owner_or_admin(actor, "add members")
    _require_may_grant(actor, role)
    name_check(name, what="A person's name")
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None, name=name)
    existing = Membership.objects.filter(organization=actor.organization, user=user).first()
    if existing is not None:
        if existing.is_active:
            raise RuleViolation(f"{email} is already a member.", field="email")
        existing.is_active = True
        existing.role = role
        existing.save(update_fields=["is_active", "role"])
        return existing
    return membership_create(organization=actor.organization, user=user, role=role)


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
    _require_may_grant(actor, role)
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
