"""Services API: the catalog, the picker view, and custom services. Thin views: parse input, call
one domain function, render the result."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from infrastructure.errors import RuleViolation
from lifecycle import grant_reviews
from services import custom_services
from services.rules import require_may_manage_custom_service
from services.selectors import (
    connector_list,
    custom_service_in_organization,
    custom_service_list_for_actor,
    service_list_for_actor,
)
from services.serializers import (
    SERVICE_PICKER_COLUMNS,
    CustomServiceTransferSerializer,
    ServiceDefinitionSerializer,
    ServicePickerSerializer,
    ServiceSerializer,
)
from workspaces.scoping import OrganizationScopedViewSet

SEARCH = OpenApiParameter("search", str, description="Matches name, slug or description.")
SOURCE = OpenApiParameter("source", str, enum=["connector", "custom"])


class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """The connector catalog: browse and search. Read-only for every tenant."""

    serializer_class = ServiceSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "connector_slug"

    def scoped_queryset(self, actor):
        return connector_list(search=self.request.query_params.get("search"))

    @extend_schema(parameters=[SEARCH])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class ServicePickerViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet
):
    """Everything a member can authenticate with: connectors and the organization's custom
    services, as the picker view (no client credentials, no URLs)."""

    serializer_class = ServicePickerSerializer

    def scoped_queryset(self, actor):
        return service_list_for_actor(
            actor=actor,
            search=self.request.query_params.get("search"),
            source=self.request.query_params.get("source"),
            columns=SERVICE_PICKER_COLUMNS,
        )

    @extend_schema(parameters=[SEARCH, SOURCE])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class CustomServiceViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """Custom services in full: the owner's own, or all of them for the org owner and admins."""

    serializer_class = ServiceSerializer

    def scoped_queryset(self, actor):
        if self.action == "list":
            return custom_service_list_for_actor(
                actor=actor, search=self.request.query_params.get("search")
            )
        return custom_service_in_organization(actor=actor)

    def _input(self, *, partial=False) -> ServiceDefinitionSerializer:
        data = ServiceDefinitionSerializer(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        return data

    def _render(self, service, status_code=status.HTTP_200_OK, warnings=()):
        data = ServiceSerializer(service, context=self.get_serializer_context()).data
        data["warnings"] = [*data["warnings"], *warnings]
        return Response(data, status=status_code)

    @extend_schema(parameters=[SEARCH])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ServiceDefinitionSerializer, responses={201: ServiceSerializer})
    def create(self, request, *args, **kwargs):
        data = self._input()
        service = custom_services.custom_service_create(
            actor=self.actor,
            definition=data.definition(),
            client_secret=data.validated_data.get("client_secret"),
            workspace=data.validated_data.get("workspace"),
            template=data.validated_data.get("template"),
            service_id=data.validated_data.get("id"),
        )
        return self._render(service, status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        service = self.get_object()
        require_may_manage_custom_service(actor=self.actor, service=service, action="see")
        return self._render(service)

    @extend_schema(request=ServiceDefinitionSerializer, responses=ServiceSerializer)
    def partial_update(self, request, *args, **kwargs):
        service = self.get_object()
        require_may_manage_custom_service(actor=self.actor, service=service, action="edit")
        data = self._input(partial=True)
        for field in ("workspace", "template", "id"):
            if field in data.validated_data:
                raise RuleViolation(
                    f"{field}: cannot be changed after creation; to move a service, transfer its "
                    "ownership.",
                    field=field,
                )
        secret = data.validated_data.get("client_secret")
        before = grant_reviews.grant_fields_of(service)
        service = custom_services.custom_service_update(
            actor=self.actor,
            service=service,
            changes=data.definition(),
            client_secret=secret or None,
            clear_client_secret="client_secret" in data.validated_data and secret is None,
        )
        stranded = grant_reviews.grants_review(
            service=service, before=before, edited_by=self.actor.label
        )
        return self._render(service, warnings=[stranded] if stranded else [])

    def destroy(self, request, *args, **kwargs):
        custom_services.custom_service_delete(actor=self.actor, service=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CustomServiceTransferSerializer, responses=ServiceSerializer)
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request, *args, **kwargs):
        service = self.get_object()
        data = CustomServiceTransferSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        service = custom_services.custom_service_transfer(
            actor=self.actor,
            service=service,
            new_owner=data.validated_data.get("membership"),
            to_service_account=data.validated_data["to_service_account"],
        )
        return self._render(service)
