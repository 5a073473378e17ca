"""Creating and revoking API keys. The plaintext key is returned once, at creation; only its hash
is stored."""

from django.db.models import QuerySet

from infrastructure.errors import NotFound, RuleViolation
from infrastructure.text import name_check
from workspaces.access import Actor, require_owner
from workspaces.models import Membership, OrganizationAPIKey, User, UserAPIKey
from workspaces.selectors import owned_organization_ids


def _require_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise RuleViolation("Give the key a name, e.g. the machine that will use it.", field="name")
    return name_check(name, what="A key's name")


def user_api_key_create(*, user: User, name: str) -> tuple[UserAPIKey, str]:
    return UserAPIKey.objects.create_key(name=_require_name(name), user=user)


def organization_api_key_create(*, actor: Actor, name: str) -> tuple[OrganizationAPIKey, str]:
    require_owner(actor, "create organization API keys")
    return OrganizationAPIKey.objects.create_key(
        name=_require_name(name), organization=actor.organization
    )


def api_key_revoke(*, key: UserAPIKey | OrganizationAPIKey) -> None:
    key.revoked = True
    key.save(update_fields=["revoked"])


def organization_api_key_revoke(*, actor: Actor, key: OrganizationAPIKey) -> None:
    require_owner(actor, "revoke organization API keys")
    api_key_revoke(key=key)


def member_api_keys_for_owner(*, organization_ids) -> QuerySet[UserAPIKey]:
    """The personal API keys of the active members of these organizations (the organizations an
    owner owns), for the owner to see and revoke. A personal key acts as its person in every
    organization they belong to, so the keys of someone who also belongs to an organization this
    owner does not own are left out: that organization's owner must not see them ended by
    another."""
    ids = list(organization_ids)
    members = Membership.objects.filter(organization__in=ids, is_active=True).values("user_id")
    elsewhere = (
        Membership.objects.filter(is_active=True).exclude(organization__in=ids).values("user_id")
    )
    return UserAPIKey.objects.filter(user_id__in=members).exclude(user_id__in=elsewhere)


def member_api_key_revoke(*, actor: Actor, key: UserAPIKey) -> None:
    """The owner revokes a member's personal key (a leaving contractor, a leaked key); revoking
    it ends it everywhere, so only the keys member_api_keys_for_owner lists: the member makes a new
    key on their API keys page."""
    require_owner(actor, "revoke members' API keys")
    owned = owned_organization_ids(actor.user)
    listed = member_api_keys_for_owner(organization_ids=owned).filter(pk=key.pk)
    member_here = Membership.objects.filter(
        organization=actor.organization, user=key.user_id, is_active=True
    )
    if not (member_here.exists() and listed.exists()):
        raise NotFound("API key not found.")
    api_key_revoke(key=key)
