"""Early expiry, detected: learn from refusals what the provider did not declare.

- A refresh refused with invalid_grant long before the auth's expected lifetime flags the auth
  "expired_early" with its age (an event, and a flag on the auth).
- When a service's auths keep dying at a similar short age (CLUSTER_SIZE or more early deaths
  within +/- CLUSTER_SPREAD of each other), the service is flagged as a likely test-status umbrella
  app: suspected_test_status, with the evidence (which auths, what ages) and what to do. Every
  organization with auths on the service hears it once.
- The flag clears when an auth on the service outlives the suspected limit (it refreshes fine past
  that age).
- Only a refusal on a clean attempt is evidence: a refusal after an interrupted refresh is
  explained by the interruption (lifecycle/refresh.py does not call in here then).
- The flag changes at most once per EARLY_EXPIRY_FLAG_HYSTERESIS_SECONDS: raised, it is not
  cleared within that window, nor raised again within it after a clear (no flapping, and no email
  and webhook per flap).
"""

from datetime import datetime, timedelta
from statistics import median

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from auths.models import Authentication, AuthStatus
from events.models import AuthEvent, EventKind
from events.recording import service_event_record
from lifecycle import state
from lifecycle.predictions import consent_time, duration_in_words, refresh_token_death_predict
from services.models import Service

CLUSTER_SIZE = 3
CLUSTER_SPREAD = timedelta(days=1)
# With no known lifetime, a grant refused younger than this is "early" (providers whose refresh
# tokens do expire say so: declared lifetime, max age or idle rule).
UNBOUNDED_EARLY_AGE = timedelta(days=90)
EVIDENCE_LOOKBACK = timedelta(days=90)

ADVICE = (
    "This service's auths keep dying at about the same short age, which is what providers do to "
    "apps in test or demo status (for example Google's 'Testing' publishing status: refresh tokens "
    "die 7 days after consent). Verify or publish the OAuth app with the provider; if the service "
    "uses the platform's umbrella application, contact the umbrella application's support. Then "
    "re-authenticate the affected auths."
)


def expected_lifetime(authentication) -> timedelta | None:
    """What was known of the auth's lifetime when it was consented, without the service's
    suspected test status (the guess this detection makes): a death at the suspected age is an
    early death too, and joins the evidence."""
    consent = consent_time(authentication)
    death = refresh_token_death_predict(authentication, now=consent, include_suspected=False)
    if death is None:
        return None
    return death.expires_at - consent


def died_early(*, age: timedelta, expected: timedelta | None) -> bool:
    if expected is None:
        return age < UNBOUNDED_EARLY_AGE
    tolerance = min(timedelta(days=1), expected / 10)
    return age < expected - tolerance


def rejection_analyse(*, authentication, now: datetime | None = None) -> bool:
    """Called when a refresh was refused (invalid_grant). Flags the auth when it died early and
    re-evaluates its service. Returns True when it was early."""
    now = now or timezone.now()
    age = now - consent_time(authentication)
    expected = expected_lifetime(authentication)
    if not died_early(age=age, expected=expected):
        return False
    message = f"Refresh token refused after {duration_in_words(age.total_seconds())}" + (
        f", long before its expected lifetime of {duration_in_words(expected.total_seconds())}."
        if expected
        else ", although nothing known limits its lifetime."
    )
    flag = {
        "code": state.EARLY_FLAG,
        "message": message,
        "since": now.isoformat(),
        "age_seconds": round(age.total_seconds()),
    }
    with transaction.atomic():
        # The service first, then its auths: the order the flag's clearing takes them in too.
        service = _service_locked(authentication.service)
        state.early_death_flagged(
            authentication=authentication,
            flag=flag,
            message=message,
            data={
                "age_seconds": round(age.total_seconds()),
                "expected_seconds": round(expected.total_seconds()) if expected else None,
                "consented_at": consent_time(authentication).isoformat(),
            },
        )
        _evaluate_locked(service=service, now=now)
    return True


def _service_locked(service: Service) -> Service:
    return Service.objects.select_for_update().get(pk=service.pk)


def _hysteresis() -> timedelta:
    return timedelta(seconds=settings.EARLY_EXPIRY_FLAG_HYSTERESIS_SECONDS)


def find_cluster(deaths: list[dict]) -> list[dict]:
    """The largest group of early deaths whose ages lie within +/- CLUSTER_SPREAD of its median."""
    ordered = sorted(deaths, key=lambda d: d["age_seconds"])
    best: list[dict] = []
    width = 2 * CLUSTER_SPREAD.total_seconds()
    start = 0
    for end in range(len(ordered)):
        while ordered[end]["age_seconds"] - ordered[start]["age_seconds"] > width:
            start += 1
        if end - start + 1 > len(best):
            best = ordered[start : end + 1]
    return best


def service_early_expiry_evaluate(*, service: Service, now: datetime | None = None) -> bool:
    """Flag the service when its auths keep dying at a similar short age. Returns True when this
    call raised the flag."""
    now = now or timezone.now()
    with transaction.atomic():
        return _evaluate_locked(service=_service_locked(service), now=now)


def _evaluate_locked(*, service: Service, now: datetime) -> bool:
    """Deaths arrive together (a test-status app's auths die in the same hour): evaluations of one
    service hold its row lock in turn, each after recording its own death, so the last one sees
    every death the others committed."""
    events = AuthEvent.objects.filter(
        service=service, kind=EventKind.EXPIRED_EARLY, created_at__gte=now - EVIDENCE_LOOKBACK
    ).order_by("created_at")
    latest: dict = {}
    for event in events:
        # One death per auth (its latest): a re-authorized auth dying again replaces its entry.
        latest[event.authentication_ref] = {
            "authentication_id": str(event.authentication_ref),
            "organization_id": str(event.organization_id),
            "name": event.authentication_name,
            "age_seconds": event.data.get("age_seconds") or 0,
            "died_at": event.created_at.isoformat(),
        }
    cluster = find_cluster(list(latest.values()))
    if len(cluster) < CLUSTER_SIZE:
        return False
    lifetime = median(d["age_seconds"] for d in cluster)
    evidence = {
        "suspected_lifetime_seconds": lifetime,
        "suspected_lifetime": duration_in_words(lifetime),
        "auths": cluster,
        "advice": ADVICE,
    }
    cleared_at = parse_datetime((service.suspected_evidence or {}).get("cleared_at") or "")
    if not service.suspected_test_status and cleared_at and now < cleared_at + _hysteresis():
        # Cleared moments ago: keep the evidence, change nothing until the window has passed.
        Service.objects.filter(pk=service.pk).update(
            suspected_evidence={**evidence, "cleared_at": cleared_at.isoformat()}
        )
        return False
    with transaction.atomic():
        raised = Service.objects.filter(pk=service.pk, suspected_test_status=False).update(
            suspected_test_status=True, suspected_evidence=evidence, suspected_at=now
        )
        if not raised:
            # Already flagged: keep the evidence current, tell nobody again.
            Service.objects.filter(pk=service.pk).update(suspected_evidence=evidence)
            return False
        service.suspected_test_status = True
        service.suspected_evidence = evidence
        service.suspected_at = now
        _announce(service=service, kind=EventKind.SERVICE_FLAGGED, evidence=evidence)
    _reevaluate_service_auths(service=service, now=now)
    return True


def service_flag_clear_if_outlived(*, authentication, now: datetime | None = None) -> bool:
    """After a successful refresh: an auth older than the suspected limit clears the flag."""
    service = authentication.service
    if not service.suspected_test_status:
        return False
    now = now or timezone.now()
    if service.suspected_at and now < service.suspected_at + _hysteresis():
        return False  # raised moments ago: it stands for the window at least
    lifetime = float((service.suspected_evidence or {}).get("suspected_lifetime_seconds") or 0)
    age = now - consent_time(authentication)
    if age.total_seconds() <= lifetime + min(CLUSTER_SPREAD.total_seconds(), lifetime / 10):
        return False
    with transaction.atomic():
        cleared = Service.objects.filter(pk=service.pk, suspected_test_status=True).update(
            suspected_test_status=False, suspected_at=None
        )
        if not cleared:
            return False
        evidence = dict(service.suspected_evidence or {})
        evidence["cleared_at"] = now.isoformat()
        evidence["cleared_by"] = {
            "authentication_id": str(authentication.pk),
            "organization_id": str(authentication.organization_id),
            "age_seconds": round(age.total_seconds()),
        }
        Service.objects.filter(pk=service.pk).update(suspected_evidence=evidence)
        service.suspected_test_status = False
        service.suspected_evidence = evidence
        _announce(service=service, kind=EventKind.SERVICE_CLEARED, evidence=evidence)
    _reevaluate_service_auths(service=service, now=now)
    return True


def _announce(*, service, kind, evidence) -> None:
    """One event per organization with auths on the service; each sees only its own auths."""
    organization_ids = (
        Authentication.objects.filter(service=service)
        .order_by()
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for organization_id in organization_ids:
        own = [a for a in evidence.get("auths", []) if a["organization_id"] == str(organization_id)]
        if kind == EventKind.SERVICE_FLAGGED:
            message = (
                f"Service '{service.name}' is likely a test-status umbrella app: "
                f"{len(evidence['auths'])} auths died about {evidence['suspected_lifetime']} "
                f"after consent. {ADVICE}"
            )
        else:
            message = (
                f"Service '{service.name}' is no longer suspected of test status: an auth "
                "outlived the suspected limit."
            )
        service_event_record(
            organization_id=organization_id,
            service=service,
            kind=kind,
            message=message,
            data={
                "suspected_lifetime_seconds": evidence.get("suspected_lifetime_seconds"),
                "deaths_total": len(evidence.get("auths", [])),
                "auths": own,
                "advice": ADVICE if kind == EventKind.SERVICE_FLAGGED else "",
            },
        )


def _reevaluate_service_auths(*, service, now) -> None:
    """Predictions of the service's live auths change with the flag: recompute them now."""
    live = Authentication.objects.filter(
        service=service, status__in=[AuthStatus.ACTIVE, AuthStatus.EXPIRING, AuthStatus.ERROR]
    ).select_related("service", "organization")
    for authentication in live.iterator(chunk_size=500):
        authentication.service = service
        state.schedule(authentication=authentication)
        state.expiry_evaluate(authentication=authentication, now=now)
