"""Who may use the embedded edition's features."""

from infrastructure.errors import NotAllowed
from workspaces.access import Actor, require_owner_or_admin


def require_embedded(actor: Actor) -> None:
    if not actor.organization.has_embedded:
        raise NotAllowed(
            f"{actor.organization.name} is on the platform edition: solutions, end users and "
            "instances belong to the embedded edition. Ask the owner to switch the organization "
            "to embedded (or both).",
            code="embedded_edition_required",
        )


def require_embedded_builder(actor: Actor, action: str) -> None:
    """Solutions are built by the org owner or an admin, or the customer's backend (an
    organization API key)."""
    require_embedded(actor)
    require_owner_or_admin(actor, action)
