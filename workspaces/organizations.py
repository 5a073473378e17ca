"""Creating organizations, editing them, and transferring ownership."""

import re

from django.db import transaction
from django.utils.text import slugify

from infrastructure.errors import NotAllowed, RuleViolation
from infrastructure.text import name_check
from workspaces import branding
from workspaces.access import Actor, require_owner, require_owner_or_admin
from workspaces.members import membership_create
from workspaces.models import (
    Edition,
    Membership,
    Organization,
    OrgRole,
    User,
    Workspace,
    WorkspaceKind,
)
from workspaces.origins import allowed_origins_clean
from workspaces.sign_in import person_get_or_create


@transaction.atomic
def organization_create(
    *, name: str, owner: User, edition: str = Edition.PLATFORM, slug: str = ""
) -> Organization:
    """Create an organization with its owner, the organization workspace, the owner's personal
    workspace and, for the embedded edition, the embedded workspace."""
    name_check(name, what="An organization's name")
    slug = slug or slugify(name)
    if not slug:
        raise RuleViolation("Give the organization a name with letters or digits.", field="name")
    if Organization.objects.filter(slug=slug).exists():
        raise RuleViolation(f"The slug '{slug}' is taken; choose another.", field="slug")
    organization = Organization.objects.create(name=name, slug=slug, edition=edition)
    Workspace.objects.create(organization=organization, kind=WorkspaceKind.ORGANIZATION, name=name)
    if organization.has_embedded:
        _embedded_workspace_ensure(organization)
    membership_create(organization=organization, user=owner, role=OrgRole.OWNER)
    return organization


@transaction.atomic
def organization_create_with_owner(
    *, name: str, owner_email: str, edition: str = Edition.PLATFORM, slug: str = ""
) -> tuple[Organization, User, str | None]:
    """organization_create for an owner named by email, created when missing (with a generated
    password, returned once). A refused organization creates no user."""
    owner, password = person_get_or_create(email=owner_email)
    organization = organization_create(name=name, slug=slug, edition=edition, owner=owner)
    return organization, owner, password


def _embedded_workspace_ensure(organization: Organization) -> None:
    Workspace.objects.get_or_create(
        organization=organization,
        kind=WorkspaceKind.EMBEDDED,
        defaults={"name": f"{organization.name} embedded"},
    )


@transaction.atomic
def organization_update(
    *,
    actor: Actor,
    organization: Organization,
    name: str | None = None,
    edition: str | None = None,
    service_account: User | None = None,
    clear_service_account: bool = False,
    allowed_origins: list[str] | None = None,
    wizard_brand_name: str | None = None,
    wizard_logo_url: str | None = None,
    wizard_accent_colour: str | None = None,
    expiry_warning_days: int | None = None,
) -> Organization:
    """Edit the organization: the owner edits everything; its allowed origins (where connect
    links return, who may frame the wizard) and the branding of the end-user pages
    (workspaces/branding.py) are the customer's integration settings, which an admin or the
    customer's backend (an organization API key) keeps up to date too. None leaves a value as it
    is; "" clears a branding value."""
    owner_only = (
        name is not None
        or edition is not None
        or service_account is not None
        or clear_service_account
        or expiry_warning_days is not None
    )
    integration = (allowed_origins, wizard_brand_name, wizard_logo_url, wizard_accent_colour)
    if owner_only or all(value is None for value in integration):
        require_owner(actor, "edit the organization")
    else:
        require_owner_or_admin(actor, "edit the organization's integration settings")
    if name is not None:
        organization.name = name_check(name, what="An organization's name")
    if edition is not None and edition != organization.edition:
        removing_embedded = organization.has_embedded and edition == Edition.PLATFORM
        removing_platform = organization.has_platform and edition == Edition.EMBEDDED
        if removing_embedded or removing_platform:
            raise RuleViolation(
                "Editions can be added, not removed: choose 'both' to add one.", field="edition"
            )
        organization.edition = edition
        if organization.has_embedded:
            _embedded_workspace_ensure(organization)
    if clear_service_account:
        organization.service_account = None
    elif service_account is not None:
        if not Membership.objects.filter(
            organization=organization, user=service_account, is_active=True
        ).exists():
            raise RuleViolation(
                "The service account must be an active member of the organization; add it first.",
                field="service_account",
            )
        organization.service_account = service_account
    if expiry_warning_days is not None:
        if not MIN_WARNING_DAYS <= expiry_warning_days <= MAX_WARNING_DAYS:
            raise RuleViolation(
                f"Give a number of days from {MIN_WARNING_DAYS} to {MAX_WARNING_DAYS}.",
                field="expiry_warning_days",
            )
        organization.expiry_warning_days = expiry_warning_days
    if allowed_origins is not None:
        organization.allowed_origins = allowed_origins_clean(allowed_origins)
    if wizard_brand_name is not None:
        organization.wizard_brand_name = branding.brand_name_clean(wizard_brand_name)
    if wizard_logo_url is not None:
        organization.wizard_logo_url = branding.logo_url_clean(wizard_logo_url)
    if wizard_accent_colour is not None:
        organization.wizard_accent_colour = branding.accent_colour_clean(wizard_accent_colour)
    organization.save()
    return organization


@transaction.atomic
def ownership_transfer(
    *, actor: Actor, organization: Organization, new_owner: Membership
) -> Membership:
    """Make another active member the owner; the previous owner becomes an admin."""
    require_owner(actor, "transfer ownership")
    if new_owner.organization_id != organization.pk or not new_owner.is_active:
        raise RuleViolation(
            "The new owner must be an active member of this organization.", field="membership"
        )
    if new_owner.role == OrgRole.OWNER:
        raise RuleViolation("That member is already the owner.", field="membership")
    current = Membership.objects.select_for_update().get(
        organization=organization, role=OrgRole.OWNER
    )
    # Demote first: the database allows one owner per organization at any moment.
    current.role = OrgRole.ADMIN
    current.save(update_fields=["role"])
    new_owner.role = OrgRole.OWNER
    new_owner.save(update_fields=["role"])
    return new_owner


# How many days before an auth dies it turns `expiring` (lifecycle/predictions.py reads it).
MIN_WARNING_DAYS, MAX_WARNING_DAYS = 1, 60
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def organization_onprem_hosts_set(*, user, organization: Organization, hosts: list[str]):
    """The on-prem allow-list: host names on the organization's own network that its services
    may call although they resolve to private addresses (infrastructure/egress.py). It opens the
    platform's outbound guard, so only a platform superuser sets it; owners see it."""
    if not user.is_superuser:
        raise NotAllowed(
            "Only a platform superuser edits the on-prem allow-list: it opens the outbound guard "
            "to private addresses. Ask your platform operator.",
        )
    cleaned = []
    for index, host in enumerate(hosts):
        host = host.strip().lower().rstrip(".")
        if not _HOST.match(host):
            raise RuleViolation(
                f"'{host}' is not a host name: give exact names such as erp.corp.example, without "
                "scheme, port or path.",
                field=f"onprem_allowed_hosts[{index}]",
            )
        if host not in cleaned:
            cleaned.append(host)
    organization.onprem_allowed_hosts = cleaned
    organization.save(update_fields=["onprem_allowed_hosts"])
    return organization
