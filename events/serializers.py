"""Input and output shapes of the events API. The webhook signing secret is write-only."""

from rest_framework import serializers

from events.models import AuthEvent, EventKind, Webhook, WebhookDelivery
from infrastructure.serializers import FastRepresentation


class EventEndUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    external_user_id = serializers.CharField()


class ReauthenticationSerializer(serializers.Serializer):
    authentication_id = serializers.UUIDField()
    url = serializers.CharField(help_text="Path of the auth-only dialog, on the platform's host.")


class AuthEventSerializer(FastRepresentation, serializers.ModelSerializer):
    authentication = serializers.UUIDField(source="authentication_ref", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True, default="")
    # Present only for an end user's auth (absent, not null, for members' auths).
    end_user = EventEndUserSerializer(
        source="context.end_user", read_only=True, help_text="An end user's auth: whose it is."
    )
    instance_ids = serializers.ListField(
        child=serializers.UUIDField(),
        source="context.instance_ids",
        read_only=True,
        help_text="An end user's auth: the solution instances bound to it.",
    )
    reauthentication = ReauthenticationSerializer(
        source="context.reauthentication",
        read_only=True,
        help_text="An end user's auth: where to send them to re-authenticate it.",
    )

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
            "end_user",
            "instance_ids",
            "reauthentication",
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
