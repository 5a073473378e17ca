"""Testing an authentication: one GET of its service's test path (services/models.py: test_path,
a "who am I" read such as GitHub's /user) through the HTTP client, so the credentials are injected,
refreshed on 401 and guarded exactly as in a real call. The outcome is told in words for the
Connections page; the answer's body is never shown (it may hold personal data), only its status.

Who may test: anyone who can see the authentication (using an auth is not managing it,
connections/connection.py); the caller scopes it with auths/selectors.py first.
"""

from dataclasses import dataclass

from auths.models import Authentication
from connections.http_client import http_request
from infrastructure.errors import DomainError, RuleViolation


@dataclass(frozen=True)
class CheckOutcome:
    ok: bool
    message: str
    status: int | None = None


def authentication_testable(authentication: Authentication) -> bool:
    service = authentication.service
    return bool(service.test_path and service.base_url)


def authentication_check(*, authentication: Authentication) -> CheckOutcome:
    """Call the service's test path with the authentication and say what happened."""
    service = authentication.service
    if not authentication_testable(authentication):
        raise RuleViolation(
            f"{service.name} declares no test request (its test_path is empty); its owner can add "
            "one, e.g. /user.",
            field="service",
        )
    try:
        result = http_request(
            authentication=authentication, method="GET", path_or_url=service.test_path
        )
    except DomainError as error:
        return CheckOutcome(
            ok=False, message=f"The test request to {service.name} was not made: {error.message}"
        )
    where = f"GET {service.test_path}"
    if 200 <= result.status < 300:
        return CheckOutcome(
            ok=True,
            status=result.status,
            message=f"{service.name} accepted the credentials ({where} answered {result.status}).",
        )
    if result.status in service.effective_expired_status_codes or result.status == 403:
        advice = (
            "Re-authenticate it."
            if result.status != 403
            else "The account may lack a permission (a scope) this request needs."
        )
        return CheckOutcome(
            ok=False,
            status=result.status,
            message=f"{service.name} refused the credentials ({where} answered "
            f"{result.status}). {advice}",
        )
    return CheckOutcome(
        ok=False,
        status=result.status,
        message=f"{service.name} answered {result.status} to {where}: the service had a problem "
        "or the test path is wrong; try again later or ask the service's owner.",
    )
