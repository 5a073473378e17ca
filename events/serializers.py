"""Input and output shapes of the events API. The webhook signing secret is write-only."""

from rest_framework import serializers

from events.models import AuthEvent, EventKind, Webhook, WebhookDelivery


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
