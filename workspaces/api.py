"""Workspaces API: thin views that parse input, call one domain function and render the result."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from workspaces import api_key_management, invitations, members, organizations, shared_workspaces
from workspaces.models import Membership, Organization, OrganizationAPIKey
from workspaces.scoping import IsAuthenticatedOrApiKey, OrganizationScopedViewSet
from workspaces.selectors import (
    member_list_for_actor,
    organization_api_key_list_for_actor,
    organization_list_for_user,
    user_api_key_list_for_user,
    workspace_list_for_actor,
)
from workspaces.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    InvitationSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MembershipSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    OwnershipTransferSerializer,
    WorkspaceMemberRoleSerializer,
    WorkspaceMemberSerializer,
    WorkspaceRenameSerializer,
    WorkspaceSerializer,
)


class OrganizationListView(ListAPIView):
    """The organizations the credential belongs to (scoped by hand: see workspaces/urls.py)."""

    serializer_class = OrganizationSerializer
    permission_classes = [IsAuthenticatedOrApiKey]

    def get_queryset(self):
        if isinstance(self.request.auth, OrganizationAPIKey):
            return Organization.objects.filter(pk=self.request.auth.organization_id)
        return organization_list_for_user(user=self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["roles"] = dict(
                Membership.objects.filter(user=self.request.user, is_active=True).values_list(
                    "organization_id", "role"
                )
            )
        return context


class OrganizationViewSet(OrganizationScopedViewSet):
    serializer_class = OrganizationSerializer

    def scoped_queryset(self, actor):
        return Organization.objects.filter(pk=actor.organization.pk)

    def _render(self, organization):
        context = {**self.get_serializer_context(), "roles": {organization.pk: self.actor.role}}
        return Response(OrganizationSerializer(organization, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        return self._render(self.actor.organization)

    @extend_schema(
        request=OrganizationUpdateSerializer,
        responses=OrganizationSerializer,
        examples=[
            OpenApiExample(
                "Where connect links may return (embedded edition)",
                request_only=True,
                value={"allowed_origins": ["https://app.example.com", "http://localhost:3000"]},
            ),
            OpenApiExample(
                "Brand the config wizard (embedded edition)",
                request_only=True,
                value={
                    "wizard_brand_name": "Acme CRM",
                    "wizard_logo_url": "https://app.example.com/static/logo.png",
                    "wizard_accent_colour": "#0b57d0",
                },
            ),
        ],
    )
    def partial_update(self, request, *args, **kwargs):
        data = OrganizationUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        values = data.validated_data
        service_account = values.get("service_account")
        organization = organizations.organization_update(
            actor=self.actor,
            organization=self.actor.organization,
            name=values.get("name"),
            edition=values.get("edition"),
            service_account=service_account.user if service_account else None,
            clear_service_account="service_account" in values and service_account is None,
            allowed_origins=values.get("allowed_origins"),
            wizard_brand_name=values.get("wizard_brand_name"),
            wizard_logo_url=values.get("wizard_logo_url"),
            wizard_accent_colour=values.get("wizard_accent_colour"),
        )
        return self._render(organization)

    @extend_schema(request=OwnershipTransferSerializer, responses=MembershipSerializer)
    @action(detail=False, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request, *args, **kwargs):
        data = OwnershipTransferSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        new_owner = organizations.ownership_transfer(
            actor=self.actor,
            organization=self.actor.organization,
            new_owner=data.validated_data["membership"],
        )
        return Response(MembershipSerializer(new_owner).data)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    serializer_class = MembershipSerializer

    def scoped_queryset(self, actor):
        return member_list_for_actor(actor=actor)

    @extend_schema(
        request=MemberAddSerializer,
        responses={201: InvitationSerializer},
        description="Invite a person by email: they get a link (single use, valid "
        "INVITATION_VALID_DAYS days) where they choose a password, or sign in, and accept. The "
        "membership exists from then on. Inviting the same address again replaces the link.",
        examples=[
            OpenApiExample(
                "Invite a contributor",
                value={"email": "ada@example.com", "name": "Ada", "role": "contributor"},
                request_only=True,
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitations.member_invite(
            actor=self.actor, base_url=request.build_absolute_uri("/"), **data.validated_data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = members.member_change_role(
            actor=self.actor, membership=self.get_object(), role=data.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=None, responses=MembershipSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, *args, **kwargs):
        membership = members.member_deactivate(actor=self.actor, membership=self.get_object())
        return Response(MembershipSerializer(membership).data)


class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    serializer_class = WorkspaceSerializer

    def scoped_queryset(self, actor):
        return workspace_list_for_actor(actor=actor).select_related("personal_owner__user")

    def create(self, request, *args, **kwargs):
        data = WorkspaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = shared_workspaces.workspace_create(
            actor=self.actor, name=data.validated_data["name"], kind=data.validated_data["kind"]
        )
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WorkspaceRenameSerializer, responses=WorkspaceSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = WorkspaceRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = shared_workspaces.workspace_rename(
            actor=self.actor, workspace=self.get_object(), name=data.validated_data["name"]
        )
        return Response(WorkspaceSerializer(workspace).data)

    def destroy(self, request, *args, **kwargs):
        shared_workspaces.workspace_delete(actor=self.actor, workspace=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkspaceMemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet
):
    serializer_class = WorkspaceMemberSerializer

    def scoped_queryset(self, actor):
        workspace = self._workspace()
        return workspace.members.select_related("membership__user")

    def _workspace(self):
        return get_object_or_404(
            workspace_list_for_actor(actor=self.actor), pk=self.kwargs["workspace_pk"]
        )

    def create(self, request, *args, **kwargs):
        data = WorkspaceMemberSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        row = shared_workspaces.workspace_member_add(
            actor=self.actor,
            workspace=self._workspace(),
            membership=data.validated_data["membership"],
            role=data.validated_data["role"],
        )
        return Response(WorkspaceMemberSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WorkspaceMemberRoleSerializer, responses=WorkspaceMemberSerializer)
    def partial_update(self, request, *args, **kwargs):
        data = WorkspaceMemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = shared_workspaces.workspace_member_change_role(
            actor=self.actor, row=self.get_object(), role=data.validated_data["role"]
        )
        return Response(WorkspaceMemberSerializer(row).data)

    def destroy(self, request, *args, **kwargs):
        shared_workspaces.workspace_member_remove(actor=self.actor, row=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _created_key_response(key_obj, key):
    data = ApiKeyCreatedSerializer(key_obj).data
    data["key"] = key
    return Response(data, status=status.HTTP_201_CREATED)


class UserApiKeyViewSet(mixins.ListModelMixin, GenericViewSet):
    """Your own API keys (acting as you in every organization you belong to); scoped by hand to
    the signed-in person (see workspaces/urls.py)."""

    serializer_class = ApiKeySerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "prefix"

    def get_queryset(self):
        return user_api_key_list_for_user(user=self.request.user)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = ApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key_obj, key = api_key_management.user_api_key_create(
            user=request.user, name=data.validated_data["name"]
        )
        return _created_key_response(key_obj, key)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        api_key_management.api_key_revoke(key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationApiKeyViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """The organization's API keys (for an embedded customer's backend). Owner only."""

    serializer_class = ApiKeySerializer
    lookup_field = "prefix"

    def scoped_queryset(self, actor):
        return organization_api_key_list_for_actor(actor=actor)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = ApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key_obj, key = api_key_management.organization_api_key_create(
            actor=self.actor, name=data.validated_data["name"]
        )
        return _created_key_response(key_obj, key)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, *args, **kwargs):
        api_key_management.organization_api_key_revoke(actor=self.actor, key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
