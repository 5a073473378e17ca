"""Creating and revoking API keys. The plaintext key is returned once, at creation; only its hash
is stored."""

from infrastructure.errors import RuleViolation
from infrastructure.text import name_check
from workspaces.access import Actor, require_owner
from workspaces.models import OrganizationAPIKey, User, UserAPIKey


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
