"""What the lifecycle dashboard shows for one organization (reads only)."""

from datetime import datetime, timedelta

from django.db.models import Count, Q

from auths.models import Authentication, AuthStatus
from events.models import AuthEvent
from lifecycle.predictions import duration_in_words
from services.models import Service, UmbrellaStatus
from workspaces.models import Organization
from workspaces.selectors import owned_organization_ids

CHART_DAYS = 14


def organizations_for_dashboard(user) -> list[Organization]:
    if user.is_superuser:
        return list(Organization.objects.order_by("name"))
    return list(Organization.objects.filter(pk__in=owned_organization_ids(user)).order_by("name"))


def lifecycle_dashboard(*, organization: Organization, now: datetime) -> dict:
    """Everything the dashboard shows for one organization (a selector: reads only)."""
    auths = Authentication.objects.filter(organization=organization)
    counts = dict(
        auths.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    by_status = [
        {"status": value, "label": label, "count": counts.get(value, 0)}
        for value, label in AuthStatus.choices
    ]
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=CHART_DAYS)
    dying = auths.filter(
        refresh_token_expires_at__gte=now,
        refresh_token_expires_at__lt=end,
    ).exclude(status__in=[AuthStatus.DISABLED, AuthStatus.NEEDS_REAUTH])
    per_day = [0] * CHART_DAYS
    for moment in dying.values_list("refresh_token_expires_at", flat=True):
        per_day[(moment - start).days] += 1
    highest = max(per_day) or 1
    bar_width, chart_height = 36, 120
    bars = [
        {
            "day": (start + timedelta(days=index)).strftime("%b %d"),
            "count": count,
            "x": index * (bar_width + 6),
            "width": bar_width,
            "height": round(chart_height * count / highest),
            "y": chart_height - round(chart_height * count / highest) + 16,
        }
        for index, count in enumerate(per_day)
    ]
    services = Service.objects.filter(
        Q(suspected_test_status=True) | Q(umbrella_status=UmbrellaStatus.TEST),
        authentications__organization=organization,
    ).distinct()
    flagged = []
    for service in services:
        evidence = service.suspected_evidence or {}
        own = [
            {**a, "age": _age(a.get("age_seconds") or 0)}
            for a in evidence.get("auths", [])
            if a.get("organization_id") == str(organization.pk)
        ]
        flagged.append(
            {
                "service": service,
                "declared_test": service.umbrella_status == UmbrellaStatus.TEST,
                "suspected": service.suspected_test_status,
                "suspected_at": service.suspected_at,
                "lifetime": evidence.get("suspected_lifetime", ""),
                "deaths_total": len(evidence.get("auths", [])),
                "own_deaths": own,
                "advice": evidence.get("advice", ""),
                "auth_count": auths.filter(service=service).count(),
            }
        )
    expiring = auths.filter(status=AuthStatus.EXPIRING).order_by("refresh_token_expires_at")[:20]
    return {
        "by_status": by_status,
        "total": sum(counts.values()),
        "bars": bars,
        "chart_width": CHART_DAYS * (bar_width + 6),
        "chart_height": chart_height + 36,
        "dying_total": sum(per_day),
        "flagged": flagged,
        "expiring": expiring,
        "events": AuthEvent.objects.filter(organization=organization).select_related("service")[
            :25
        ],
    }


def _age(seconds: float) -> str:
    return duration_in_words(float(seconds))
