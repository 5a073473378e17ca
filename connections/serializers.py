"""Input and output shapes of the authentications API. No rules here: the domain functions decide.

Secrets are write-only inputs (credentials, password) and never part of any output: the read
serializer lists its fields explicitly and none of them is an encrypted field.
"""

import base64

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from auths.models import Authentication
from connections.connection import authentication_warnings
from infrastructure.serializers import FastRepresentation
from services.selectors import service_list_for_actor
from workspaces.serializers import ScopedWorkspaceField


@extend_schema_field(OpenApiTypes.UUID)
class UsableServiceField(serializers.PrimaryKeyRelatedField):
    """A catalog connector or one of the organization's custom services, by id."""

    def get_queryset(self):
        return service_list_for_actor(actor=self.context["actor"])


class ServiceSummarySerializer(FastRepresentation, serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    source = serializers.CharField()
    auth_scheme = serializers.CharField()
    grant_type = serializers.CharField()
    base_url = serializers.CharField()


class AuthenticationSerializer(FastRepresentation, serializers.ModelSerializer):
    service = ServiceSummarySerializer(read_only=True)
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    owner = serializers.IntegerField(source="owner_id", read_only=True, allow_null=True)
    owner_email = serializers.SerializerMethodField()
    has_refresh_token = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Authentication
        fields = [
            "id",
            "name",
            "service",
            "workspace",
            "owner",
            "owner_email",
            "status",
            "status_reason",
            "flags",
            "warnings",
            "username",
            "parameters",
            "scopes",
            "token_type",
            "has_refresh_token",
            "access_token_expires_at",
            "refresh_token_issued_at",
            "refresh_token_expires_at",
            "refresh_token_expiry_reason",
            "consented_at",
            "last_used_at",
            "last_refreshed_at",
            "refresh_failures",
            "last_refresh_error",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_owner_email(self, auth) -> str | None:
        return auth.owner.user.email if auth.owner_id else None

    def get_has_refresh_token(self, auth) -> bool:
        return auth.refresh_token is not None

    def get_warnings(self, auth) -> list[str]:
        return authentication_warnings(auth)


# The columns AuthenticationSerializer reads, for the selectors' `columns=`: a list of auths loads
# these alone (no workspace, organization or end-user row, no credential but whether a refresh
# token is held). Its plain fields, then what its nested and computed fields read.
# tests/connections/test_api_reads.py renders a list with nothing else loaded.
_READ_THROUGH_OTHERS = {"service", "workspace", "owner", "owner_email", "has_refresh_token"}
AUTHENTICATION_COLUMNS = (
    *(
        f
        for f in AuthenticationSerializer.Meta.fields
        if f not in _READ_THROUGH_OTHERS | {"warnings"}
    ),
    *(f"service__{f}" for f in ServiceSummarySerializer._declared_fields),
    "workspace_id",
    "owner_id",
    "owner__user__email",
    "refresh_token",
)


class _CreateBase(serializers.Serializer):
    workspace = ScopedWorkspaceField(
        required=False, allow_null=True, help_text="Workspace id; default: your personal workspace."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    parameters = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Values of the service's declared parameters.",
    )


class TokenCreateSerializer(_CreateBase):
    service = UsableServiceField()
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        write_only=True,
        help_text="api_key (or token); or username and password for HTTP Basic. Never shown again.",
    )


class GenericCreateSerializer(_CreateBase):
    definition = serializers.DictField(
        help_text="base_url, credential_placement (header|query|basic), credential_header_name, "
        "credential_prefix, credential_query_param, name."
    )
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), write_only=True
    )


class ClientCredentialsCreateSerializer(_CreateBase):
    service = UsableServiceField()
    scopes = serializers.ListField(child=serializers.CharField(), required=False)


class PasswordCreateSerializer(ClientCredentialsCreateSerializer):
    username = serializers.CharField(max_length=300)
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class OAuthStartSerializer(ClientCredentialsCreateSerializer):
    pass


class OAuthStartResultSerializer(serializers.Serializer):
    transaction = serializers.UUIDField()
    authorize_url = serializers.CharField(help_text="Send the person's browser here.")
    start_url = serializers.CharField(
        help_text="Or here: a platform route that redirects to a fresh authorize URL."
    )
    expires_at = serializers.DateTimeField()
    warnings = serializers.ListField(child=serializers.CharField())


class RenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class MoveSerializer(serializers.Serializer):
    workspace = ScopedWorkspaceField()


class ReauthenticateSerializer(serializers.Serializer):
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        write_only=True,
    )
    parameters = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False
    )
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    username = serializers.CharField(required=False)
    password = serializers.CharField(required=False, write_only=True, trim_whitespace=False)


class DeleteResultSerializer(serializers.Serializer):
    revoked = serializers.BooleanField()
    revocation_error = serializers.CharField()


class HttpRequestSerializer(serializers.Serializer):
    method = serializers.CharField(default="GET")
    path = serializers.CharField(
        help_text="Path relative to the service's base URL, or an absolute URL on the same host."
    )
    query = serializers.DictField(required=False)
    headers = serializers.DictField(child=serializers.CharField(), required=False)
    json = serializers.JSONField(required=False)
    data = serializers.DictField(required=False, help_text="Form fields (urlencoded).")
    body = serializers.CharField(required=False, trim_whitespace=False, help_text="Raw body.")


class HttpResultSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(help_text="UTF-8 text, or base64 when body_encoding says so.")
    body_encoding = serializers.ChoiceField(choices=["utf-8", "base64"])
    refreshed = serializers.BooleanField()

    @staticmethod
    def from_result(result) -> dict:
        try:
            body, encoding = result.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(result.body).decode("ascii"), "base64"
        return {
            "status": result.status,
            "headers": result.headers,
            "body": body,
            "body_encoding": encoding,
            "refreshed": result.refreshed,
        }
