"""Input and output shapes of the embedded API. No rules here: the domain functions decide."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connections.serializers import HttpRequestSerializer, UsableServiceField
from embedded.instances import instance_auth_values, instance_problems
from embedded.models import Release, Solution, SolutionInstance
from embedded.solutions import latest_release, solution_state
from projects.models import Project
from workspaces.models import EndUser

# --- solutions -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.UUID)
class ScopedProjectField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Project.objects.filter(organization=self.context["actor"].organization)


class ReleaseSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["id", "number", "published_at"]
        read_only_fields = fields


class ReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["id", "number", "published_at", "snapshot"]
        read_only_fields = fields


class SolutionSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", read_only=True)
    state = serializers.SerializerMethodField(
        help_text="draft (never published), live (the draft is the latest release) or changed "
        "(edited since it was published)."
    )
    live_release = serializers.SerializerMethodField()

    class Meta:
        model = Solution
        fields = [
            "id",
            "name",
            "description",
            "project",
            "state",
            "layout",
            "live_release",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_state(self, solution) -> str:
        return solution_state(solution)

    @extend_schema_field(ReleaseSummarySerializer(allow_null=True))
    def get_live_release(self, solution):
        release = latest_release(solution)
        return ReleaseSummarySerializer(release).data if release else None


class SolutionCreateSerializer(serializers.Serializer):
    project = ScopedProjectField(help_text="A project of the embedded workspace.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)


class SolutionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    layout = serializers.JSONField(
        required=False,
        help_text='The wizard\'s screens: {"screens": [{"title": "…", "slots": ["<external_id>", '
        "…]}]}; slots on no screen are hidden.",
    )


# --- instances -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.UUID)
class ScopedSolutionField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Solution.objects.filter(organization=self.context["actor"].organization)


@extend_schema_field(OpenApiTypes.UUID)
class ScopedEndUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return EndUser.objects.filter(organization=self.context["actor"].organization)


class AuthValueSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    authentication_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField(read_only=True, allow_null=True)


class ConfigValueSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    value = serializers.JSONField()


class InstanceSerializer(serializers.ModelSerializer):
    solution = serializers.UUIDField(source="solution_id", read_only=True)
    end_user = serializers.UUIDField(source="end_user_id", read_only=True)
    external_user_id = serializers.CharField(source="end_user.external_user_id", read_only=True)
    release = serializers.IntegerField(source="release.number", read_only=True)
    auth_values = serializers.SerializerMethodField()
    config_values = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField(
        help_text="Why it cannot be enabled now (empty when it can)."
    )

    class Meta:
        model = SolutionInstance
        fields = [
            "id",
            "name",
            "solution",
            "end_user",
            "external_user_id",
            "release",
            "enabled",
            "needs_upgrade",
            "auth_values",
            "config_values",
            "problems",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AuthValueSerializer(many=True))
    def get_auth_values(self, instance) -> list[dict]:
        return [vars(value) for value in instance_auth_values(instance)]

    @extend_schema_field(ConfigValueSerializer(many=True))
    def get_config_values(self, instance) -> list[dict]:
        return [
            {"external_id": key, "value": value}
            for key, value in (instance.config_values or {}).items()
        ]

    def get_problems(self, instance) -> list[str]:
        return instance_problems(instance)


class InstanceCreateSerializer(serializers.Serializer):
    solution = ScopedSolutionField()
    end_user = ScopedEndUserField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    config_values = serializers.DictField(
        required=False, help_text='{"<config slot external_id>": value}'
    )
    auth_values = AuthValueSerializer(many=True, required=False)


class InstanceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    config_values = serializers.DictField(
        required=False, help_text="Merged into the instance's values; null removes one."
    )
    auth_values = AuthValueSerializer(
        many=True, required=False, help_text="Binds (or, with null, unbinds) auth slots."
    )


class InstanceRequestSerializer(HttpRequestSerializer):
    slot = serializers.CharField(help_text="External id of the auth slot whose auth is used.")


# --- authorization codes and connect links -------------------------------------------------------


@extend_schema_field(OpenApiTypes.UUID)
class ScopedInstanceField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return SolutionInstance.objects.filter(
            organization=self.context["actor"].organization
        ).select_related("solution", "release")


class AuthorizationCodeCreateSerializer(serializers.Serializer):
    solution = ScopedSolutionField(
        required=False, allow_null=True, help_text="Bind the code to this (published) solution."
    )
    instance = ScopedInstanceField(
        required=False,
        allow_null=True,
        help_text="Bind the code to this instance of the end user (and its solution).",
    )


class AuthorizationCodeSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="The one-time code. Shown only in this response: it is stored hashed."
    )
    expires_at = serializers.DateTimeField()
    wizard_url = serializers.CharField(
        allow_null=True,
        help_text="Send the end user's browser here (or frame it): the wizard of the instance or "
        "solution the code is bound to. null for a code bound to neither: build the address of "
        "the page you want (docs/embedded.md).",
    )
    solution = serializers.UUIDField(allow_null=True)
    instance = serializers.UUIDField(allow_null=True)


class ConnectLinkCreateSerializer(serializers.Serializer):
    service = UsableServiceField(
        required=False, allow_null=True, help_text="Connect this service (a connector or yours)."
    )
    instance = ScopedInstanceField(
        required=False, allow_null=True, help_text="Connect an auth slot of this instance…"
    )
    slot = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="…named by its external id."
    )
    return_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Where the browser returns, with ?status=connected&authentication_id=… or "
        "?status=error&error=…; its origin must be one of the organization's allowed_origins.",
    )


class ConnectLinkSerializer(serializers.Serializer):
    url = serializers.CharField(
        help_text="Open it in the end user's browser: it goes straight to the provider's "
        "consent. Works once."
    )
    expires_at = serializers.DateTimeField()


# --- end users -----------------------------------------------------------------------------------


class EndUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = EndUser
        fields = [
            "id",
            "external_user_id",
            "name",
            "is_test_user",
            "metadata",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndUserCreateSerializer(serializers.Serializer):
    external_user_id = serializers.CharField(
        max_length=200, help_text="Your own id for this person; unique in the organization."
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    is_test_user = serializers.BooleanField(
        default=False, help_text="Your own staff trying the integration: kept out of counts."
    )
    metadata = serializers.JSONField(
        required=False, help_text="A JSON object of at most 8 KB, returned as given."
    )


class EndUserUpdateSerializer(serializers.Serializer):
    external_user_id = serializers.CharField(required=False, max_length=200)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    # default None: absent stays absent, even in a form-encoded body.
    is_test_user = serializers.BooleanField(default=None, allow_null=True)
    metadata = serializers.JSONField(
        required=False, help_text="Replaces the stored object as a whole."
    )


class RevocationFailureSerializer(serializers.Serializer):
    authentication_id = serializers.UUIDField()
    name = serializers.CharField()
    error = serializers.CharField()


class EndUserDeletionSerializer(serializers.Serializer):
    authentications_deleted = serializers.IntegerField()
    authentications_revoked = serializers.IntegerField(
        help_text="Revoked at the provider (services with a revoke URL)."
    )
    revocations_failed = RevocationFailureSerializer(
        many=True, help_text="Deleted all the same; the provider may still honour these grants."
    )
    instances_deleted = serializers.IntegerField()


class EndUserAuthenticationImportSerializer(serializers.Serializer):
    """A token service: `credentials` (and `parameters`). An OAuth 2.0 service: the tokens."""

    service = UsableServiceField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    parameters = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Values of the service's declared parameters.",
    )
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        write_only=True,
        help_text="Token services: api_key (or token); or username and password for HTTP Basic.",
    )
    access_token = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, help_text="OAuth 2.0 services."
    )
    refresh_token = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    expires_at = serializers.DateTimeField(
        required=False, help_text="When the access token expires (or give expires_in)."
    )
    expires_in = serializers.IntegerField(
        required=False, help_text="Seconds until the access token expires."
    )
    scopes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="What the tokens were granted; default: the service's default scopes.",
    )
