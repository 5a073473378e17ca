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


class NotFound(DomainError):
    """Missing, or belongs to another organization: the two are indistinguishable on purpose."""

    status_code = 404
    code = "not_found"


class UpstreamError(RuleViolation):
    """A third party (a provider's token or API endpoint) did not give what was asked; the message
    says why, without secrets."""

    status_code = 502
    code = "upstream_error"
