"""Events in the admin, for superusers and organization owners (each owner sees their
organizations only): the event log, webhooks (the signing secret is write-only; saves go through
events/webhooks.py) and the delivery logs of webhooks and emails."""

from django import forms
from django.contrib import admin

from events import webhooks
from events.models import AuthEvent, EmailDelivery, EventKind, Webhook, WebhookDelivery
from workspaces.access import actor_for
from workspaces.admin_scoping import DomainForm, DomainFormAdmin, ReadOnlyScopedAdmin


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "kind", "authentication_name", "service", "message"]
    list_filter = ["kind"]
    search_fields = ["authentication_name", "message"]
    list_select_related = ["service"]
    change_list_template = "admin/events/authevent/change_list.html"


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
class WebhookDeliveryAdmin(ReadOnlyScopedAdmin):
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


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(ReadOnlyScopedAdmin):
    organization_path = "event__organization"
    list_display = ["created_at", "event", "status", "attempts", "delivered_at"]
    list_filter = ["status"]
    readonly_fields = ["event", "recipients", "status", "attempts", "last_error", "delivered_at"]
