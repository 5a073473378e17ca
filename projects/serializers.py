"""Input and output shapes of the projects API. Shapes only: the rules (slugs, services, scopes,
static authentications, types, placeholders) are projects.definitions', which names the field.
A static slot's authentication is rendered as its id, never anything of its credentials."""

from rest_framework import serializers

from projects.definitions import METHODS
from projects.models import AuthSlot, ConfigSlot, ConfigType, Project, Workflow
from workspaces.serializers import ScopedWorkspaceField

# --- output --------------------------------------------------------------------------------------


class AuthSlotSerializer(serializers.ModelSerializer):
    service = serializers.UUIDField(source="service_id", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    static_authentication = serializers.UUIDField(
        source="static_authentication_id",
        read_only=True,
        allow_null=True,
        help_text="Id of the one authentication every instance uses (static slot), or null.",
    )

    class Meta:
        model = AuthSlot
        fields = [
            "external_id",
            "title",
            "service",
            "service_name",
            "scopes",
            "hidden",
            "static_authentication",
            "force_unique",
        ]
        read_only_fields = fields


class ConfigSlotSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConfigSlot
        fields = [
            "external_id",
            "title",
            "help_text",
            "type",
            "required",
            "default",
            "choices",
            "pattern",
            "hidden",
        ]
        read_only_fields = fields


class RequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=METHODS)
    path = serializers.CharField(
        max_length=2000,
        help_text="Under the service's base URL, e.g. /contacts; may hold {{config.<id>}}.",
    )
    query = serializers.DictField(required=False, help_text="Query parameters.")
    headers = serializers.DictField(child=serializers.CharField(), required=False)
    json = serializers.JSONField(required=False, help_text="A JSON body.")


class StepSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    auth_slot = serializers.CharField(
        max_length=100, help_text="External id of the auth slot whose authentication is used."
    )
    request = RequestSerializer()


class WorkflowSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True)

    class Meta:
        model = Workflow
        fields = ["name", "description", "steps"]
        read_only_fields = fields


class ProjectSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    auth_slots = AuthSlotSerializer(many=True, read_only=True)
    config_slots = ConfigSlotSerializer(many=True, read_only=True)
    workflows = WorkflowSerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "workspace",
            "auth_slots",
            "config_slots",
            "workflows",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- input ---------------------------------------------------------------------------------------


class AuthSlotInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, help_text="A slug, unique in the project.")
    title = serializers.CharField(max_length=200)
    service = serializers.UUIDField(
        help_text="Id of a catalog connector or of one of your organization's custom services."
    )
    scopes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Some of the service's scopes."
    )
    hidden = serializers.BooleanField(required=False, help_text="Not shown in the wizard.")
    static_authentication = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Id of an authentication of your organization that every instance shares.",
    )
    force_unique = serializers.BooleanField(
        required=False, help_text="The end user must create a new authentication."
    )


class ConfigSlotInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, help_text="A slug, unique in the project.")
    title = serializers.CharField(max_length=200)
    help_text = serializers.CharField(required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=ConfigType.choices, required=False)
    required = serializers.BooleanField(required=False)
    default = serializers.JSONField(required=False, allow_null=True)
    choices = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The values of a select or multiselect slot.",
    )
    pattern = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="String slots: a regular expression (RE2 syntax) the whole value must match.",
    )
    hidden = serializers.BooleanField(required=False)


class WorkflowInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    steps = StepSerializer(many=True, required=False)


class _DefinitionInput(serializers.Serializer):
    auth_slots = AuthSlotInputSerializer(
        many=True, required=False, help_text="Replaces the project's auth slots, in this order."
    )
    config_slots = ConfigSlotInputSerializer(
        many=True, required=False, help_text="Replaces the project's config slots, in this order."
    )
    workflows = WorkflowInputSerializer(
        many=True, required=False, help_text="Replaces the project's workflows, in this order."
    )

    def definition(self) -> dict:
        """The validated input as plain data for the domain functions."""
        return _plain(dict(self.validated_data))


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class ProjectCreateSerializer(_DefinitionInput):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    workspace = ScopedWorkspaceField(
        required=False,
        help_text="Where the project lives; default: your personal workspace (platform edition) "
        "or the embedded workspace (embedded edition).",
    )


class ProjectUpdateSerializer(_DefinitionInput):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if "workspace" in self.initial_data:
            raise serializers.ValidationError(
                {"workspace": "a project stays in the workspace it was created in."}
            )
        return attrs


# --- bundles -------------------------------------------------------------------------------------


class BundleInputSerializer(serializers.Serializer):
    workspace = ScopedWorkspaceField(
        required=False,
        help_text="Where a project or workflow bundle is imported; default: your personal "
        "workspace (platform edition) or the embedded workspace (embedded edition). A solution "
        "bundle always goes to the embedded workspace.",
    )
    bundle = serializers.JSONField(
        help_text="The bundle as exported (GET …/projects/{id}/bundle/): format, version, kind, "
        "id, services, auth_slots, config_slots, workflows (and solution)."
    )
    choices = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='The custom-service import\'s choices: {"services": {"<key>": {"use": "<service '
        'id>"} | {"create": {"client_secret": "…", "client_id": "…", "name": "…", "slug": "…"}}}, '
        '"auths": {"<static slot external id>": "<authentication id>" | null}}. Without it: the '
        "ordinary import.",
    )


class RollbackSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, help_text="The number of a kept version."
    )


class ProjectVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ImportedServiceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    name = serializers.CharField()
    slug = serializers.CharField()


class BundleImportResultSerializer(serializers.Serializer):
    project = ProjectSerializer()
    created = serializers.BooleanField(help_text="A new project (false: an update).")
    services_created = ImportedServiceSerializer(many=True)
    version_kept = serializers.IntegerField(
        allow_null=True, help_text="The version the replaced definition was kept as."
    )
    warnings = serializers.ListField(child=serializers.CharField())
    solution = serializers.UUIDField(allow_null=True, required=False)
    release = serializers.IntegerField(allow_null=True, required=False)
    instances = serializers.DictField(child=serializers.IntegerField(), required=False)
