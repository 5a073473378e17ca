"""Lifecycle admin for superusers and organization owners (each owner sees their organizations
only): the event log, webhooks (the signing secret is write-only; saves go through
auths.webhooks), delivery logs, and a dashboard at /admin/auths/authevent/dashboard/ (linked from
the event log): auths by status, auths whose refresh token dies in the next 14 days, flagged
services with their evidence, recent events."""

from datetime import datetime, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from auths import webhooks
from auths.models import (
    Authentication,
    AuthEvent,
    AuthStatus,
    EventKind,
    Webhook,
    WebhookDelivery,
)
from config.admin_site import owned_organization_ids
from services.models import Service, UmbrellaStatus
from workspaces.access import actor_for
from workspaces.admin_scoping import DomainForm, DomainFormAdmin, OrganizationScopedAdmin
from workspaces.models import Organization

CHART_DAYS = 14


class ReadOnlyAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "authentication_name", "service", "message"]
    list_filter = ["kind"]
    search_fields = ["authentication_name", "message"]
    list_select_related = ["service"]
    change_list_template = "admin/auths/authevent/change_list.html"

    def get_urls(self):
        dashboard = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name="auths_lifecycle_dashboard",
        )
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        organizations = organizations_for_dashboard(request.user)
        if not organizations:
            raise PermissionDenied
        chosen = request.GET.get("organization")
        organization = next((o for o in organizations if str(o.pk) == chosen), organizations[0])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Token lifecycle: {organization.name}",
            "organizations": organizations,
            "organization": organization,
            **lifecycle_dashboard(organization=organization, now=timezone.now()),
        }
        return TemplateResponse(request, "admin/auths/lifecycle_dashboard.html", context)


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
    from auths.expiry import _days

    return _days(float(seconds))


# --- webhooks ------------------------------------------------------------------------------------


class WebhookForm(DomainForm):
    signing_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: never shown again. Leave empty to keep the current secret.",
    )
    events = forms.MultipleChoiceField(
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Empty means every kind except routine refreshes.",
    )

    class Meta:
        model = Webhook
        fields = ["organization", "url", "events", "is_active"]

    def perform(self):
        organization = self.cleaned_data.get("organization") or self.instance.organization
        actor = actor_for(organization=organization, user=self.request.user)
        if self.instance.pk:
            return webhooks.webhook_update(
                actor=actor,
                webhook=Webhook.objects.get(pk=self.instance.pk),
                url=self.cleaned_data["url"],
                events=list(self.cleaned_data["events"]),
                is_active=self.cleaned_data["is_active"],
                signing_secret=self.cleaned_data["signing_secret"] or None,
            )
        return webhooks.webhook_create(
            actor=actor,
            url=self.cleaned_data["url"],
            signing_secret=self.cleaned_data["signing_secret"],
            events=list(self.cleaned_data["events"]),
            is_active=self.cleaned_data["is_active"],
        )


@admin.register(Webhook)
class WebhookAdmin(DomainFormAdmin):
    form = WebhookForm
    list_display = ["url", "organization", "is_active", "created_at"]
    fields = ["organization", "url", "signing_secret", "events", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    organization_path = "webhook__organization"
    list_display = ["created_at", "webhook", "event", "status", "attempts", "response_status"]
    list_filter = ["status"]
    readonly_fields = [
        "webhook",
        "event",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "delivered_at",
    ]
