"""Service serializers: input shapes for definitions, and three read views — the full definition
(owner, org owner, admins), the catalog connector, and the picker view everyone gets. The client
secret is write-only: no output serializer has it, only `has_client_secret`. Every service
returned carries its `warnings`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connections.browser_flows import is_browser_flow, oauth_redirect_uris
from infrastructure.serializers import FastRepresentation
from services.models import Service, ServiceSource
from services.notices import evidence_for_organization, service_warnings
from services.rules import may_manage_custom_service
from services.validation import DEFINITION_FIELDS, PARAMETER_TYPES
from workspaces.serializers import ScopedMembershipField, ScopedWorkspaceField


class ParameterSerializer(serializers.Serializer):
    """A value the person fills in when authenticating; usable as {{name}} in URLs, the base URL,
    extra OAuth parameters and the client id/secret."""

    name = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=PARAMETER_TYPES, required=False, default="string")
    required = serializers.BooleanField(required=False, default=True)
    secret = serializers.BooleanField(required=False, default=False)
    pattern = serializers.CharField(max_length=500, required=False, allow_blank=True)
    default = serializers.JSONField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


@extend_schema_field(OpenApiTypes.STR)
class ConnectorSlugField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Service.objects.filter(source=ServiceSource.CONNECTOR)


class ServiceDefinitionSerializer(serializers.ModelSerializer):
    """Input for creating or changing a custom service. Shapes are checked here; the rules
    (https, placeholders, scheme completeness, hosts, editions) by the domain functions."""

    parameters = ParameterSerializer(many=True, required=False)
    client_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        style={"input_type": "password"},
        help_text="Write-only. Omit to keep the current secret; null removes it.",
    )
    workspace = ScopedWorkspaceField(
        required=False,
        write_only=True,
        help_text="Where the service is created; default: your personal workspace (platform) or "
        "the embedded workspace (embedded edition, org owner).",
    )
    template = ConnectorSlugField(
        required=False,
        write_only=True,
        help_text="Slug of a catalog connector: bring your own OAuth app for it.",
    )
    id = serializers.UUIDField(
        required=False,
        write_only=True,
        help_text="On creation only: an id you chose (a random UUID), so the redirect URI "
        "/api/oauth/callback/<id>/ can be registered with the provider before the service exists.",
    )

    class Meta:
        model = Service
        fields = [*DEFINITION_FIELDS, "client_secret", "workspace", "template", "id"]
        validators = []
        extra_kwargs = {
            "slug": {"required": False, "allow_blank": True, "validators": []},
            "name": {"required": False},
            "auth_scheme": {"required": False},
            # What is saved is what was sent: " " is the usual separator, not blank to strip.
            "scope_separator": {"trim_whitespace": False},
        }

    def definition(self) -> dict:
        data = dict(self.validated_data)
        for key in ("client_secret", "workspace", "template", "id"):
            data.pop(key, None)
        if "parameters" in data:
            data["parameters"] = [
                {k: v for k, v in p.items() if v not in (None, "")}
                for p in (dict(p) for p in data["parameters"])
            ]
        return data


class GenericDefinitionSerializer(ServiceDefinitionSerializer):
    id = None

    class Meta(ServiceDefinitionSerializer.Meta):
        fields = [*DEFINITION_FIELDS, "workspace"]


class ServiceSerializer(FastRepresentation, serializers.ModelSerializer):
    """The full definition of a custom service (or a connector): never the client secret."""

    warnings = serializers.SerializerMethodField()
    has_client_secret = serializers.SerializerMethodField()
    owner_email = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)
    template = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parameters = ParameterSerializer(many=True, read_only=True)
    suspected_evidence = serializers.SerializerMethodField(
        help_text="Why the service is suspected of test status: your organization's auths that "
        "died early, and how many died in all."
    )
    expired_status_codes = serializers.ListField(
        source="effective_expired_status_codes",
        child=serializers.IntegerField(),
        read_only=True,
        help_text="The status codes that mean the access token has expired (a refresh and one "
        "replay follow): the codes set on the service, or [401] when none are set.",
    )

    redirect_uri = serializers.SerializerMethodField(
        help_text="For a custom service that signs in through the browser (OAuth 2.0 code, OAuth "
        "1.0a): the redirect URI to register with the provider. Empty otherwise."
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "source",
            *DEFINITION_FIELDS,
            "redirect_uri",
            "has_client_secret",
            "workspace",
            "owner_email",
            "template",
            "suspected_test_status",
            "suspected_evidence",
            "warnings",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, service) -> list[dict]:
        return service_warnings(service=service)

    def get_has_client_secret(self, service) -> bool:
        return service.client_secret is not None

    def get_redirect_uri(self, service) -> str:
        request = self.context.get("request")
        if request is None or service.source != ServiceSource.CUSTOM:
            return ""
        if not is_browser_flow(service):
            return ""
        uris = self.__dict__.get("_redirect_uris")  # one reverse per page, not per service
        if uris is None:
            uris = self._redirect_uris = oauth_redirect_uris(
                base_url=request.build_absolute_uri("/")
            )
        return uris(service.pk)

    def get_suspected_evidence(self, service) -> dict:
        actor = self.context.get("actor")
        if actor is None:
            return {}
        return evidence_for_organization(service=service, organization_id=actor.organization.pk)


class ServicePickerSerializer(FastRepresentation, serializers.ModelSerializer):
    """What everyone in the organization sees to pick a service: never URLs' secrets, client
    credentials or the owner's settings."""

    warnings = serializers.SerializerMethodField()
    can_manage = serializers.SerializerMethodField(
        help_text="True when you may see and edit the full definition."
    )
    parameters = ParameterSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "source",
            "slug",
            "name",
            "icon",
            "description",
            "documentation_url",
            "auth_scheme",
            "grant_type",
            "scopes_available",
            "scopes_default",
            "parameters",
            "umbrella_status",
            "can_manage",
            "warnings",
        ]
        read_only_fields = fields

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, service) -> list[dict]:
        return service_warnings(service=service)

    def get_can_manage(self, service) -> bool:
        actor = self.context.get("actor")
        return actor is not None and may_manage_custom_service(actor=actor, service=service)


# The columns ServicePickerSerializer reads, for service_list_for_actor(columns=...): its fields
# but the computed ones, then what service_warnings and may_manage_custom_service look at.
SERVICE_PICKER_COLUMNS = (
    *(f for f in ServicePickerSerializer.Meta.fields if f not in ("can_manage", "warnings")),
    "test_refresh_token_lifetime",
    "suspected_test_status",
    "organization_id",
    "owner_id",
    "owner__email",
    "organization__service_account_id",
    "organization__service_account__email",
)


class CustomServiceTransferSerializer(serializers.Serializer):
    membership = ScopedMembershipField(
        required=False, allow_null=True, help_text="Membership id of the new owner."
    )
    to_service_account = serializers.BooleanField(
        required=False, default=False, help_text="Transfer to the organization's service account."
    )
