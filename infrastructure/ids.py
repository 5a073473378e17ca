"""Ids given as text (query parameters, JSON values): parsed once, refused in the usual shape."""

import uuid

from infrastructure.errors import RuleViolation


def uuid_or_none(value) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def uuid_required(value, *, field: str, what: str = "") -> uuid.UUID:
    """`value` as a UUID; anything else is refused naming `field` (and what the id is of)."""
    parsed = uuid_or_none(value)
    if parsed is None:
        wanted = f"the id of {what}" if what else "an id"
        raise RuleViolation(f"{field}: give {wanted}.", field=field)
    return parsed


def uuid_filter(value: str | None, *, field: str) -> uuid.UUID | None:
    """An optional id filter of a list (`?workspace=<id>`): absent is None, anything else must be an
    id."""
    return uuid_required(value, field=field) if value else None
