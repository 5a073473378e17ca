"""Input and output shapes of the workspaces API. No rules here: the domain functions decide."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workspaces.invitations import invitation_status
from workspaces.models import (
    Edition,
    Invitation,
    Membership,
    Organization,
    OrgRole,
    Workspace,
    WorkspaceKind,
    WorkspaceMembership,
    WorkspaceRole,
)


@extend_schema_field(OpenApiTypes.INT)
class ScopedMembershipField(serializers.PrimaryKeyRelatedField):
    """A member of the request's organization, by id; others do not exist as far as input goes."""

    def get_queryset(self):
        return Membership.objects.filter(organization=self.context["actor"].organization)


@extend_schema_field(OpenApiTypes.UUID)
class ScopedWorkspaceField(serializers.PrimaryKeyRelatedField):
    """A workspace of the request's organization, by id (visibility is checked by the domain)."""

    def get_queryset(self):
        return Workspace.objects.filter(organization=self.context["actor"].organization)


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this organization.")
    service_account_email = serializers.EmailField(
        source="service_account.email", read_only=True, allow_null=True
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "edition",
            "service_account_email",
            "allowed_origins",
            "wizard_brand_name",
            "wizard_logo_url",
            "wizard_accent_colour",
            "role",
            "created_at",
        ]
        read_only_fields = fields

    def get_role(self, organization) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(organization.pk)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class OriginListField(serializers.JSONField):
    """Checked by the domain (workspaces/origins.py), so each refusal names allowed_origins[i]."""


class OrganizationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    edition = serializers.ChoiceField(choices=Edition.choices, required=False)
    service_account = ScopedMembershipField(
        required=False, allow_null=True, help_text="Membership id of the service account, or null."
    )
    allowed_origins = OriginListField(
        required=False,
        help_text="Origins (scheme://host[:port]) of your own pages: where connect links may "
        "return the end user, and who may frame the config wizard. https, or http on localhost. "
        "Replaces the list; the owner, an admin or an organization API key may set it.",
    )
    # Branding of the config wizard and the auth-only dialog (workspaces/branding.py checks them;
    # "" clears one). The owner, an admin or an organization API key may set them.
    wizard_brand_name = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Shown in the header of the end-user pages; empty: the organization's name.",
    )
    wizard_logo_url = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="https URL of your logo (http on localhost only). The end user's browser loads "
        "it from that host, without a Referer; it is the only thing those pages load from "
        "another host.",
    )
    wizard_accent_colour = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="#rrggbb: buttons and links of the end-user pages. Button text is white, so the "
        "colour must give it a contrast of at least 4.5:1.",
    )


class OwnershipTransferSerializer(serializers.Serializer):
    membership = ScopedMembershipField(help_text="Membership id of the new owner.")


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "is_active", "created_at"]
        read_only_fields = fields


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=200, required=False, default="")
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.CONTRIBUTOR)


class InvitationSerializer(serializers.ModelSerializer):
    """What inviting a member answers: the invitation sent (never its link: that went by email)."""

    invited_by_email = serializers.EmailField(
        source="invited_by.email", read_only=True, allow_null=True
    )
    status = serializers.SerializerMethodField(
        help_text="pending, accepted, replaced (by a newer invitation) or expired."
    )
    detail = serializers.SerializerMethodField(help_text="What happened, for a person.")

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "name",
            "role",
            "status",
            "invited_by_email",
            "created_at",
            "expires_at",
            "detail",
        ]
        read_only_fields = fields

    def get_status(self, invitation) -> str:
        return invitation_status(invitation)

    def get_detail(self, invitation) -> str:
        return (
            f"Invitation sent to {invitation.email}. They become a member when they accept it; "
            f"the link works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        )


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrgRole.choices)


class WorkspaceSerializer(serializers.ModelSerializer):
    personal_owner_email = serializers.EmailField(
        source="personal_owner.user.email", read_only=True, allow_null=True
    )

    class Meta:
        model = Workspace
        fields = ["id", "name", "kind", "personal_owner_email", "created_at"]
        read_only_fields = ["id", "personal_owner_email", "created_at"]
        extra_kwargs = {"kind": {"default": WorkspaceKind.SHARED}}


class WorkspaceRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class WorkspaceMemberSerializer(serializers.ModelSerializer):
    membership = ScopedMembershipField()
    email = serializers.EmailField(source="membership.user.email", read_only=True)

    class Meta:
        model = WorkspaceMembership
        fields = ["id", "membership", "email", "role", "created_at"]
        read_only_fields = ["id", "email", "created_at"]
        extra_kwargs = {"role": {"default": WorkspaceRole.CONTRIBUTOR}}


class WorkspaceMemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=WorkspaceRole.choices)


class ApiKeySerializer(serializers.Serializer):
    prefix = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=50)
    created = serializers.DateTimeField(read_only=True)
    revoked = serializers.BooleanField(read_only=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")
