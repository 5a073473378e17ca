"""One-time authorization codes: what the customer's backend hands one of its end users so that
they reach the config wizard (purpose `wizard`) or go straight to a provider's consent (purpose
`connect`: a connect link, embedded/connect_links.py).

- A code is random (secrets.token_urlsafe(32): 256 bits), shown once: only its SHA-256 is stored,
  so the table does not hold a usable code.
- It is valid for EMBEDDED_CODE_LIFETIME_MINUTES (10) and works once: redeeming marks it used with
  one conditional UPDATE (… WHERE used_at IS NULL AND expires_at > now), so of two concurrent
  redemptions exactly one wins, without a lock held across anything else.
- It may be bound to one solution (published) or one instance (the end user's own); a connect link
  is bound to a service, or to an auth slot of an instance, and may carry a return URL.
- A refusal never says whether a code was unknown, used or expired: a caller learns nothing by
  trying codes.

The wizard pages (pages/wizard_views.py, embedded/wizard.py) redeem a code and then keep a short
session of their own for that end user (and the solution or instance it is bound to): the code is
the way in, not the session, so reloading a wizard page never needs the code again. wizard_url
names the page a code opens.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from embedded.access import require_embedded_builder
from embedded.models import AuthorizationCode, CodePurpose, Solution, SolutionInstance
from embedded.solutions import require_live_release
from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from services.models import Service
from workspaces.access import Actor
from workspaces.models import EndUser

# Longer input is not one of our codes: refused before it is hashed.
MAX_CODE_LENGTH = 100


def code_lifetime() -> timedelta:
    return timedelta(minutes=settings.EMBEDDED_CODE_LIFETIME_MINUTES)


def code_digest(raw_code: str) -> str:
    return hashlib.sha256(raw_code.encode()).hexdigest()


class CodeRefused(NotAllowed):
    """Unknown, used or expired: deliberately one answer for all three."""

    code = "code_invalid"


def _refused() -> CodeRefused:
    minutes = settings.EMBEDDED_CODE_LIFETIME_MINUTES
    return CodeRefused(
        f"This code or link cannot be used: codes work once, for {minutes} minutes. Ask the app "
        "that sent you here for a new one."
    )


def _instance_checked(
    actor: Actor, end_user: EndUser, instance: SolutionInstance
) -> SolutionInstance:
    if instance.organization_id != actor.organization.pk:
        raise NotFound("Instance not found.", field="instance")
    if instance.end_user_id != end_user.pk:
        raise RuleViolation(
            f"instance: '{instance.name}' belongs to another end user; a code opens only the "
            "instances of the end user it is issued for.",
            field="instance",
        )
    return instance


def authorization_code_create(
    *,
    actor: Actor,
    end_user: EndUser,
    solution: Solution | None = None,
    instance: SolutionInstance | None = None,
    purpose: str,
    service: Service | None = None,
    slot: str = "",
    return_url: str = "",
    now: datetime | None = None,
) -> tuple[AuthorizationCode, str]:
    """Issue a code for `end_user`; returns the record and the raw code (shown once, never
    stored). Optionally bound to a solution (it must have been published) or to one of the end
    user's instances (its solution then too). A connect link (purpose connect) names the
    `service`, or the instance's auth `slot` and its service, and may carry a `return_url`:
    embedded/connect_links.py checks those before calling this."""
    require_embedded_builder(actor, "issue authorization codes")
    if purpose not in CodePurpose.values:
        raise RuleViolation(f"purpose: one of {', '.join(CodePurpose.values)}.", field="purpose")
    if purpose == CodePurpose.CONNECT and service is None:
        raise RuleViolation("service: a connect link names a service.", field="service")
    if end_user.organization_id != actor.organization.pk:
        raise NotFound("End user not found.")
    if solution is not None:
        if solution.organization_id != actor.organization.pk:
            raise NotFound("Solution not found.", field="solution")
        require_live_release(solution)
    if instance is not None:
        _instance_checked(actor, end_user, instance)
        if solution is not None and instance.solution_id != solution.pk:
            raise RuleViolation(
                f"instance: '{instance.name}' is an instance of another solution; give the "
                "instance alone, or its own solution.",
                field="instance",
            )
        solution = instance.solution
    raw_code = secrets.token_urlsafe(32)
    code = AuthorizationCode.objects.create(
        organization=actor.organization,
        end_user=end_user,
        code_hash=code_digest(raw_code),
        purpose=purpose,
        solution=solution,
        instance=instance,
        service=service,
        slot=slot,
        return_url=return_url,
        expires_at=(now or timezone.now()) + code_lifetime(),
    )
    return code, raw_code


def authorization_code_redeem(
    *, raw_code: str, purpose: str, now: datetime | None = None
) -> AuthorizationCode:
    """Use the code up and return it (with its end user, solution, instance and service), or
    raise CodeRefused when it is unknown, already used, expired or of another purpose (one answer
    for all). Race-safe: the conditional UPDATE lets exactly one of concurrent callers through."""
    if not isinstance(raw_code, str) or not raw_code or len(raw_code) > MAX_CODE_LENGTH:
        raise _refused()
    now = now or timezone.now()
    digest = code_digest(raw_code)
    with transaction.atomic():
        won = AuthorizationCode.objects.filter(
            code_hash=digest, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if won != 1:
            raise _refused()
        return AuthorizationCode.objects.select_related(
            "organization", "end_user__organization", "solution", "instance", "service"
        ).get(code_hash=digest)


def wizard_url(code: AuthorizationCode, raw_code: str, *, base_url: str) -> str | None:
    """The absolute URL of the config wizard a code opens: the instance's page (edit, upgrade)
    for a code bound to an instance, the solution's page (a new instance) for one bound to a
    solution. A code bound to neither has no one wizard: the customer's page builds the address
    of the solution it wants, or of the auth-only dialog (docs/embedded.md). `base_url` is this
    platform's origin as the caller reached it, as for OAuth redirect URIs."""
    slug = code.organization.slug
    if code.instance_id:
        path = reverse(
            "embedded-wizard-instance",
            kwargs={"organization_slug": slug, "instance_id": code.instance_id},
        )
    elif code.solution_id:
        path = reverse(
            "embedded-wizard-solution",
            kwargs={"organization_slug": slug, "solution_id": code.solution_id},
        )
    else:
        return None
    return f"{base_url.rstrip('/')}{path}?code={raw_code}"
