"""Domain exceptions. infrastructure/api_errors.py maps them to HTTP once; the admin and the pages
show their message."""


class DomainError(Exception):
    """A request that breaks a rule. `field` names the input to fix, when there is one."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class RuleViolation(DomainError):
    code = "rule_violation"


class NotAllowed(DomainError):
    """The actor can see the object but their role does not allow this action."""

    status_code = 403
    code = "not_allowed"


class Conflict(DomainError):
    """The request is fine but the state of things does not allow it yet (a workspace that still
    holds authentications); the message says what to change first."""

    status_code = 409
    code = "conflict"


class NotFound(DomainError):
    """Missing, or belongs to another organization: the two are indistinguishable on purpose."""

    status_code = 404
    code = "not_found"


class UpstreamError(RuleViolation):
    """A third party (a provider's token or API endpoint) did not give what was asked; the message
    says why, without secrets."""

    status_code = 502
    code = "upstream_error"


def held_rows_description(rows) -> tuple[str, int]:
    """What keeps something from being deleted, for a person: ("3 authentications (A, B, C…)", 3)
    from the rows a PROTECT foreign key names (ProtectedError.protected_objects), grouped by model.
    A row that is itself held by another row of the list (a generic service kept by its
    authentication) is left out: it goes when that row goes."""
    rows = list(rows)

    def held_by_another(row) -> bool:
        return any(
            (field.related_model, getattr(other, field.attname)) == (type(row), row.pk)
            for other in rows
            if other is not row
            for field in other._meta.concrete_fields
            if field.is_relation
        )

    shown = [row for row in rows if not held_by_another(row)] or rows
    groups: dict[type, list[str]] = {}
    for row in shown:
        groups.setdefault(type(row), []).append(str(row))
    parts = []
    for model, names in sorted(groups.items(), key=lambda item: -len(item[1])):
        names.sort()
        opts = model._meta
        noun = opts.verbose_name if len(names) == 1 else opts.verbose_name_plural
        listed = ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
        parts.append(f"{len(names)} {noun} ({listed})")
    return " and ".join(parts), len(shown)
