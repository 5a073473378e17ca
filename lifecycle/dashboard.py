"""What the admin's home page and the lifecycle dashboard show for one organization (reads only).

Every number comes with `filters`: the admin changelist lookups that list exactly what it counts
(lifecycle/admin.py turns them into links), so a number on the page is never a dead end.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils.dateparse import parse_datetime

from auths.models import Authentication, AuthStatus
from events.models import AuthEvent, DeliveryStatus, WebhookDelivery
from lifecycle.predictions import duration_in_words
from services.models import Service, ServiceSource, UmbrellaStatus
from workspaces.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationAPIKey,
    UserAPIKey,
)
from workspaces.selectors import owned_organization_ids

CHART_DAYS = 14
# A webhook counts as failing when one of its deliveries failed (or is being retried) this recently.
FAILING_WEBHOOK_WINDOW = timedelta(days=7)
# What to do about a service whose umbrella app is (or looks) in test status.
TEST_STATUS_ACTION = (
    "Verify or publish the OAuth app with the provider (for Google: move the app out of "
    '"Testing"), set the service\'s umbrella status to verified, then ask the owners of its '
    "auths to re-authenticate."
)


def organizations_for_dashboard(user) -> list[Organization]:
    if user.is_superuser:
        return list(Organization.objects.order_by("name"))
    return list(Organization.objects.filter(pk__in=owned_organization_ids(user)).order_by("name"))


def organization_chosen(*, organizations: list[Organization], chosen: str | None):
    """The organization asked for (by id, from the query string) among those the person may see;
    the first one otherwise, None when there is none."""
    return next((o for o in organizations if str(o.pk) == chosen), None) or next(
        iter(organizations), None
    )


def auths_by_status(*, organization: Organization) -> dict:
    counts = dict(
        Authentication.objects.filter(organization=organization)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    rows = [
        {
            "status": value,
            "label": label,
            "count": counts.get(value, 0),
            "filters": {"organization": organization.pk, "status__exact": value},
        }
        for value, label in AuthStatus.choices
    ]
    return {"by_status": rows, "total": sum(counts.values())}


def flagged_services(*, organization: Organization) -> list[dict]:
    """Services this organization uses or owns whose umbrella app is declared or suspected to be
    in test status, with the evidence (this organization's auths only) and what to do."""
    auths = Authentication.objects.filter(organization=organization)
    services = (
        Service.objects.filter(
            Q(suspected_test_status=True) | Q(umbrella_status=UmbrellaStatus.TEST)
        )
        .filter(Q(authentications__organization=organization) | Q(organization=organization))
        .distinct()
        .order_by("name")
    )
    flagged = []
    for service in services:
        evidence = service.suspected_evidence or {}
        own = [
            {
                **a,
                "age": duration_in_words(float(a.get("age_seconds") or 0)),
                "died": parse_datetime(a.get("died_at") or ""),
            }
            for a in evidence.get("auths", [])
            if a.get("organization_id") == str(organization.pk)
        ]
        still_here = {
            str(pk)
            for pk in auths.filter(
                pk__in=[a["authentication_id"] for a in own if a.get("authentication_id")]
            ).values_list("pk", flat=True)
        }
        for death in own:
            death["exists"] = death.get("authentication_id") in still_here
        flagged.append(
            {
                "service": service,
                "declared_test": service.umbrella_status == UmbrellaStatus.TEST,
                "suspected": service.suspected_test_status,
                "suspected_at": service.suspected_at,
                "lifetime": evidence.get("suspected_lifetime", ""),
                "deaths_total": len(evidence.get("auths", [])),
                "own_deaths": own,
                "action": evidence.get("advice") or TEST_STATUS_ACTION,
                "auth_count": auths.filter(service=service).count(),
                "filters": {"organization": organization.pk, "service": service.pk},
                "editable": service.organization_id == organization.pk,
            }
        )
    return flagged


def failing_webhooks(*, organization: Organization, now: datetime) -> list[dict]:
    """Webhooks of the organization with deliveries that failed, or are being retried, lately."""
    since = now - FAILING_WEBHOOK_WINDOW
    failing = Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING, attempts__gt=0)
    rows = (
        WebhookDelivery.objects.filter(failing, webhook__organization=organization)
        .filter(created_at__gte=since)
        .values("webhook_id", "webhook__url")
        .annotate(failures=Count("id"), last=Max("created_at"))
        .order_by("-last")
    )
    result = []
    for row in rows:
        latest = (
            WebhookDelivery.objects.filter(failing, webhook_id=row["webhook_id"])
            .order_by("-created_at")
            .first()
        )
        result.append(
            {
                "webhook_id": row["webhook_id"],
                "webhook_url": row["webhook__url"],
                "failures": row["failures"],
                "last_at": row["last"],
                "last_error": latest.last_error if latest else "",
                "filters": {"webhook": row["webhook_id"], "status__exact": DeliveryStatus.FAILED},
            }
        )
    return result


def getting_started(*, organization: Organization) -> list[dict]:
    """The first steps of a new organization, each done once the organization has the thing."""
    members = Membership.objects.filter(organization=organization)
    steps = [
        (
            "custom_service",
            "Create a custom service for an API you use",
            Service.objects.filter(organization=organization, source=ServiceSource.CUSTOM).exists(),
        ),
        (
            "connect_account",
            "Connect an account (an authentication)",
            Authentication.objects.filter(organization=organization).exists(),
        ),
        (
            "invite_member",
            "Invite a member",
            members.count() > 1 or Invitation.objects.filter(organization=organization).exists(),
        ),
        (
            "api_key",
            "Create an API key",
            OrganizationAPIKey.objects.filter(organization=organization).exists()
            or UserAPIKey.objects.filter(user__memberships__organization=organization).exists(),
        ),
    ]
    return [{"key": key, "label": label, "done": done} for key, label, done in steps]


def organization_home(*, organization: Organization, now: datetime) -> dict:
    """The admin's home page for one organization: health at a glance and the first steps (shown
    until they are all done)."""
    steps = getting_started(organization=organization)
    return {
        **auths_by_status(organization=organization),
        "flagged": flagged_services(organization=organization),
        "failing_webhooks": failing_webhooks(organization=organization, now=now),
        "steps": steps,
        "steps_left": sum(1 for step in steps if not step["done"]),
    }


def expiry_chart(*, organization: Organization, now: datetime) -> dict:
    """Auths whose refresh token dies on each of the next CHART_DAYS days, counted in the zone of
    `now` (the viewer's), with the axis ticks a reader needs: whole numbers from 0 to the top."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=CHART_DAYS)
    dying = (
        Authentication.objects.filter(organization=organization)
        .filter(refresh_token_expires_at__gte=now, refresh_token_expires_at__lt=end)
        .exclude(status__in=[AuthStatus.DISABLED, AuthStatus.NEEDS_REAUTH])
    )
    per_day = [0] * CHART_DAYS
    for moment in dying.values_list("refresh_token_expires_at", flat=True):
        per_day[(moment - start).days] += 1
    top = max(max(per_day), 1)
    # At most 5 ticks, whole numbers: 0..top in steps of 1, 2, 5, 10, ...
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9) if top / s <= 4)
    top = -(-top // step) * step
    days = []
    for index, count in enumerate(per_day):
        day = start + timedelta(days=index)
        days.append(
            {
                "date": day,
                "count": count,
                "filters": {
                    "organization": organization.pk,
                    "refresh_token_expires_at__gte": max(day, now).isoformat(),
                    "refresh_token_expires_at__lt": (day + timedelta(days=1)).isoformat(),
                },
            }
        )
    return {
        "days": days,
        "top": top,
        "ticks": list(range(0, top + 1, step)),
        "dying_total": sum(per_day),
        "zone": start.tzname() or "",
    }


def lifecycle_dashboard(*, organization: Organization, now: datetime) -> dict:
    """Everything the dashboard shows for one organization (a selector: reads only)."""
    auths = Authentication.objects.filter(organization=organization)
    expiring = auths.filter(status=AuthStatus.EXPIRING).order_by("refresh_token_expires_at")
    return {
        **auths_by_status(organization=organization),
        "chart": expiry_chart(organization=organization, now=now),
        "flagged": flagged_services(organization=organization),
        "failing_webhooks": failing_webhooks(organization=organization, now=now),
        "expiring": expiring.select_related("service")[:20],
        "events": AuthEvent.objects.filter(organization=organization).select_related(
            "service", "authentication"
        )[:25],
    }


def service_auths_by_status(*, service: Service, organization_ids) -> list[dict]:
    """A service's auths by status, within the given organizations (None: every organization, for
    a superuser), each row with the changelist filters that list them."""
    auths = Authentication.objects.filter(service=service)
    if organization_ids is not None:
        auths = auths.filter(organization__in=list(organization_ids))
    counts = dict(
        auths.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return [
        {
            "status": value,
            "label": label,
            "count": counts.get(value, 0),
            "filters": {"service": service.pk, "status__exact": value},
        }
        for value, label in AuthStatus.choices
    ]
