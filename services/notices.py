"""Warnings shown with a service everywhere it is returned (API and admin).

- a discouraged scheme (OAuth 2.0 password grant, OAuth 1.0a) always carries a warning;
- a custom service owned by a personal account instead of the organization's service account
  (the source document's recommendation: a leaver must not take services along);
- an umbrella application in test status, or suspected of it, whose tokens die early.
"""

from services.models import AuthScheme, GrantType, Service, ServiceSource, UmbrellaStatus


def _days(seconds: int) -> str:
    days = seconds / 86400
    return f"{days:g} day{'s' if days != 1 else ''}"


def discouraged_scheme_warning(*, auth_scheme: str, grant_type: str) -> str | None:
    """The one wording of the discouraged-scheme warning: services, authentications, the admin and
    the validation error all use it."""
    if auth_scheme == AuthScheme.OAUTH1:
        what = "OAuth 1.0a is discouraged: it is superseded by OAuth 2.0"
    elif auth_scheme == AuthScheme.OAUTH2 and grant_type == GrantType.PASSWORD:
        what = (
            "The OAuth 2.0 password grant is discouraged (RFC 9700 §2.4: it MUST NOT be used): "
            "the platform handles the person's password"
        )
    else:
        return None
    return f"{what}. Use OAuth 2.0 authorization code with PKCE if the provider offers it."


def service_warnings(*, service: Service) -> list[dict]:
    warnings = []
    discouraged = discouraged_scheme_warning(
        auth_scheme=service.auth_scheme, grant_type=service.grant_type
    )
    if discouraged:
        warnings.append({"code": "discouraged_scheme", "message": discouraged})
    if service.source == ServiceSource.CUSTOM and service.owner_id is not None:
        organization = service.organization
        if organization.service_account_id is None:
            warnings.append(
                {
                    "code": "owned_by_personal_account",
                    "message": (
                        f"Owned by the personal account {service.owner.email}. Name a service "
                        "account for the organization and transfer the service to it, so that "
                        "nobody leaving can take it along."
                    ),
                }
            )
        elif organization.service_account_id != service.owner_id:
            warnings.append(
                {
                    "code": "owned_by_personal_account",
                    "message": (
                        f"Owned by the personal account {service.owner.email} instead of the "
                        f"service account {organization.service_account.email}; transfer it "
                        "to the service account."
                    ),
                }
            )
    if service.umbrella_status == UmbrellaStatus.TEST:
        lifetime = service.test_refresh_token_lifetime
        detail = (
            f"refresh tokens die {_days(lifetime)} after consent"
            if lifetime
            else "tokens may die early"
        )
        warnings.append(
            {
                "code": "umbrella_test_status",
                "message": (
                    f"The provider-side OAuth app is in test status: {detail}. Verify or publish "
                    "the app with the provider, then re-authenticate."
                ),
            }
        )
    elif service.suspected_test_status:
        warnings.append(
            {
                "code": "suspected_test_status",
                "message": (
                    "Authentications of this service keep dying early: the provider-side OAuth "
                    "app is probably in test status. Verify or publish it with the provider."
                ),
            }
        )
    return warnings


def evidence_for_organization(*, service: Service, organization_id) -> dict:
    """The suspected-test-status evidence as one organization may see it: its own auths that died
    early, and how many died in all (a count: other organizations' auths, names and ids never
    cross over; a connector is shared by every tenant)."""
    evidence = service.suspected_evidence or {}
    if not evidence:
        return {}
    own = str(organization_id)
    shown = {
        key: evidence[key]
        for key in ("suspected_lifetime_seconds", "suspected_lifetime", "advice", "cleared_at")
        if key in evidence
    }
    shown["deaths_total"] = len(evidence.get("auths", []))
    shown["auths"] = [a for a in evidence.get("auths", []) if a.get("organization_id") == own]
    cleared_by = evidence.get("cleared_by")
    if cleared_by:
        mine = cleared_by.get("organization_id") == own
        shown["cleared_by"] = cleared_by if mine else {"age_seconds": cleared_by.get("age_seconds")}
    return shown
