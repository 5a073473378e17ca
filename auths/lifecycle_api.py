"""Lifecycle API: event logs (per organization, per auth), webhooks (the signing secret is
write-only) and their delivery logs. Thin views over auths.events and auths.webhooks."""

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from auths import webhooks
from auths.events import authentication_visible, event_list_for_actor
from auths.models import AuthEvent, EventKind, Webhook, WebhookDelivery
from config.api import OrganizationScopedViewSet
from workspaces.errors import NotFound


class AuthEventSerializer(serializers.ModelSerializer):
    authentication = serializers.UUIDField(source="authentication_ref", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True, default="")

    class Meta:
        model = AuthEvent
        fields = [
            "id",
            "kind",
            "message",
            "data",
            "authentication",
            "authentication_name",
            "service",
            "service_name",
            "created_at",
        ]
        read_only_fields = fields


class WebhookSerializer(serializers.ModelSerializer):
    """The signing secret is accepted on write and never returned."""

    signing_secret = serializers.CharField(write_only=True, required=True, trim_whitespace=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False
    )
    has_signing_secret = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "signing_secret", "has_signing_secret"]
        read_only_fields = ["id", "has_signing_secret"]

    def get_has_signing_secret(self, webhook) -> bool:
        return webhook.signing_secret is not None


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_kind = serializers.CharField(source="event.kind", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_kind",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class OrganizationEventViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """The organization's lifecycle event log (newest first); `?kind=` filters."""

    serializer_class = AuthEventSerializer

    def scoped_queryset(self, actor):
        events = event_list_for_actor(actor=actor)
        kind = self.request.query_params.get("kind")
        return events.filter(kind=kind) if kind else events


class AuthenticationEventViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """One auth's event log (newest first)."""

    serializer_class = AuthEventSerializer

    def scoped_queryset(self, actor):
        authentication_id = self.kwargs["authentication_pk"]
        if not authentication_visible(actor=actor, authentication_id=authentication_id):
            raise NotFound("Authentication not found.")
        return event_list_for_actor(actor=actor, authentication_id=authentication_id)


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """Organization webhooks for auth events; owners and admins manage them."""

    serializer_class = WebhookSerializer

    def scoped_queryset(self, actor):
        return webhooks.webhook_list_for_actor(actor=actor)

    def create(self, request, *args, **kwargs):
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_create(actor=self.actor, **data.validated_data)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        data = WebhookSerializer(webhook, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_update(actor=self.actor, webhook=webhook, **data.validated_data)
        return Response(WebhookSerializer(webhook).data)

    def destroy(self, request, *args, **kwargs):
        webhooks.webhook_delete(actor=self.actor, webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """Delivery log of one webhook (newest first)."""

    serializer_class = WebhookDeliverySerializer

    def scoped_queryset(self, actor):
        webhook = webhooks.webhook_get(actor=actor, webhook_id=self.kwargs["webhook_pk"])
        return webhooks.delivery_list_for_actor(actor=actor, webhook_id=webhook.pk)
