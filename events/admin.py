"""Events in the admin, for superusers and organization owners (each owner sees their
organizations only): the event log, webhooks (the signing secret is write-only; saves go through
events/webhooks.py) and the delivery logs of webhooks and emails."""

from django import forms
from django.contrib import admin, messages

from events import webhooks
from events.models import AuthEvent, EmailDelivery, EventKind, Webhook, WebhookDelivery
from events.webhook_actions import webhook_delivery_redeliver
from infrastructure.errors import DomainError
from pages.admin_display import badge, truncated, when
from workspaces.access import actor_for
from workspaces.admin_scoping import (
    DomainForm,
    DomainFormAdmin,
    ReadOnlyScopedAdmin,
    admin_actor,
)


def _run_each(model_admin, request, queryset, organization_of, operation, done):
    """Run a domain operation on each selected row, with one message per row (refusals in words)."""
    for obj in queryset:
        try:
            result = operation(actor=admin_actor(request, organization_of(obj)), obj=obj)
        except DomainError as error:
            model_admin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        else:
            level, text = done(obj, result)
            model_admin.message_user(request, text, level)


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["created", "kind", "authentication_name", "service", "message_short"]
    list_filter = ["kind", ("service", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["authentication_name", "message"]
    list_select_related = ["service"]
    change_list_template = "admin/events/authevent/change_list.html"

    @admin.display(description="when", ordering="created_at")
    def created(self, obj):
        return when(obj.created_at)

    @admin.display(description="message")
    def message_short(self, obj):
        return truncated(obj.message)


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
    list_display = ["url_short", "organization", "is_active", "created_at"]
    list_filter = ["is_active"]
    fields = ["organization", "url", "signing_secret", "events", "is_active"]
    actions = ["send_test"]

    @admin.display(description="URL", ordering="url")
    def url_short(self, obj):
        return truncated(obj.url)

    @admin.action(description="Send a test event to the selected webhooks")
    def send_test(self, request, queryset):
        def done(webhook, result):
            if result.ok:
                return (
                    messages.SUCCESS,
                    f"Webhook {webhook}: test event delivered (HTTP {result.status_code}).",
                )
            return messages.ERROR, f"Webhook {webhook}: test event not delivered: {result.error}"

        _run_each(
            self,
            request,
            queryset,
            lambda webhook: webhook.organization,
            lambda *, actor, obj: webhooks.webhook_test_send(actor=actor, webhook=obj),
            done,
        )

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyScopedAdmin):
    organization_path = "webhook__organization"
    list_display = [
        "created",
        "webhook_short",
        "event",
        "status_badge",
        "attempts",
        "response_status",
        "error_short",
    ]
    list_filter = ["status", ("webhook", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["webhook", "event"]
    actions = ["redeliver"]

    def has_change_permission(self, request, obj=None):
        # Nothing is edited by hand, but "redeliver" needs the change permission in the list.
        return obj is None and self._in_scope(request, None)

    @admin.display(description="when", ordering="created_at")
    def created(self, obj):
        return when(obj.created_at)

    @admin.display(description="webhook", ordering="webhook__url")
    def webhook_short(self, obj):
        return truncated(obj.webhook.url)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="last error")
    def error_short(self, obj):
        return truncated(obj.last_error)

    @admin.action(description="Redeliver the selected deliveries", permissions=["change"])
    def redeliver(self, request, queryset):
        _run_each(
            self,
            request,
            queryset.select_related("webhook__organization"),
            lambda delivery: delivery.webhook.organization,
            lambda *, actor, obj: webhook_delivery_redeliver(actor=actor, delivery=obj),
            lambda delivery, _: (messages.SUCCESS, f"Delivery {delivery.pk}: queued again."),
        )

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
    list_display = ["created_at", "event", "status", "attempts", "delivered_at", "error_short"]

    @admin.display(description="last error")
    def error_short(self, obj):
        return truncated(obj.last_error)

    list_filter = ["status"]
    readonly_fields = ["event", "recipients", "status", "attempts", "last_error", "delivered_at"]
