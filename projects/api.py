"""The projects API: thin views that parse input, call one domain function and render the result."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from embedded.solution_bundles import SolutionImportResult, any_bundle_import, any_bundle_plan
from infrastructure.errors import NotFound
from infrastructure.ids import uuid_filter
from projects import bundles, projects
from projects.bundle_import import bundle_parse
from projects.selectors import project_get_for_actor, project_list_for_actor
from projects.serializers import (
    BundleImportResultSerializer,
    BundleInputSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    ProjectVersionSerializer,
    RollbackSerializer,
)
from workspaces.scoping import OrganizationScopedViewSet

TAG = ["projects"]

EXAMPLE = OpenApiExample(
    "A CRM sync with a region setting",
    request_only=True,
    value={
        "name": "CRM contacts sync",
        "description": "Reads the customer's contacts of one region.",
        "auth_slots": [
            {
                "external_id": "crm",
                "title": "Your CRM account",
                "service": "6f1c2a9e-3b7d-4e0a-9c41-2d8e5f7a1b30",
                "scopes": ["contacts.read"],
            }
        ],
        "config_slots": [
            {
                "external_id": "region",
                "title": "Region",
                "help_text": "Which of your CRM's regions to read.",
                "type": "select",
                "choices": ["eu", "us"],
                "required": True,
                "default": "eu",
            }
        ],
        "workflows": [
            {
                "name": "Read contacts",
                "steps": [
                    {
                        "name": "List contacts",
                        "auth_slot": "crm",
                        "request": {
                            "method": "GET",
                            "path": "/contacts",
                            "query": {"region": "{{config.region}}"},
                        },
                    }
                ],
            }
        ],
    },
)


@extend_schema(tags=TAG)
class ProjectViewSet(OrganizationScopedViewSet):
    """Projects: auth slots, config slots and workflows, written together. Each list given
    replaces the project's list whole."""

    serializer_class = ProjectSerializer

    def scoped_queryset(self, actor):
        params = self.request.query_params
        return project_list_for_actor(
            actor=actor,
            workspace_id=uuid_filter(params.get("workspace"), field="workspace"),
            search=params.get("search"),
        )

    def _project(self):
        return project_get_for_actor(actor=self.actor, project_id=self.kwargs["pk"])

    def _input(self, serializer_class):
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data

    def _render(self, project, code=status.HTTP_200_OK):
        # Read back through the selector: the slots and workflows as written.
        project = project_get_for_actor(actor=self.actor, project_id=project.pk)
        return Response(ProjectSerializer(project).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", str, description="Only this workspace's projects (id)."),
            OpenApiParameter("search", str, description="Matches name or description."),
        ]
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProjectSerializer(page, many=True).data)

    @extend_schema(
        request=ProjectCreateSerializer, responses={201: ProjectSerializer}, examples=[EXAMPLE]
    )
    def create(self, request, *args, **kwargs):
        data = self._input(ProjectCreateSerializer)
        values = data.definition()
        project = projects.project_create(
            actor=self.actor,
            workspace=values.pop("workspace", None),
            name=values.pop("name"),
            description=values.pop("description", ""),
            **values,
        )
        return self._render(project, status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        return Response(ProjectSerializer(self._project()).data)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer, examples=[EXAMPLE])
    def partial_update(self, request, *args, **kwargs):
        project = self._project()
        values = self._input(ProjectUpdateSerializer).definition()
        project = projects.project_update(actor=self.actor, project=project, **values)
        return self._render(project)

    def destroy(self, request, *args, **kwargs):
        projects.project_delete(actor=self.actor, project=self._project())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        description="The project as a bundle (projects/schemas/bundle-v1.json): deterministic, "
        "no secret; custom services by their definition, connectors by catalog key.",
    )
    def bundle(self, request, *args, **kwargs):
        return Response(bundles.project_bundle(actor=self.actor, project=self._project()))

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def workflow_bundle(self, request, *args, **kwargs):
        """One workflow (by its position, from 0) as a bundle, with the slots it uses."""
        project = self._project()
        workflows = list(project.workflows.order_by("position", "id"))
        index = self.kwargs["index"]
        workflow = workflows[index] if index < len(workflows) else None
        if workflow is None:
            raise NotFound("Workflow not found.")
        return Response(
            bundles.workflow_bundle(actor=self.actor, project=project, workflow=workflow)
        )

    @extend_schema(request=None, responses=ProjectVersionSerializer(many=True))
    def versions(self, request, *args, **kwargs):
        """The definitions an import replaced, newest first: what a rollback restores."""
        versions = self._project().versions.order_by("-number")[:100]
        return Response(ProjectVersionSerializer(versions, many=True).data)

    @extend_schema(request=RollbackSerializer, responses=ProjectSerializer)
    def rollback(self, request, *args, **kwargs):
        """Restore a kept version (the definition it replaces is kept in turn)."""
        number = self._input(RollbackSerializer).validated_data["version"]
        project = projects.project_rollback(
            actor=self.actor, project=self._project(), number=number
        )
        return self._render(project)


@extend_schema(tags=TAG)
class BundleImportViewSet(OrganizationScopedViewSet):
    """Import bundles: the ordinary import (no choices) and the custom-service import (plan, then
    import with the choices). A solution bundle goes to the embedded workspace."""

    serializer_class = ProjectSerializer

    def scoped_queryset(self, actor):
        return project_list_for_actor(actor=actor)

    def _values(self):
        data = BundleInputSerializer(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        return {
            "actor": self.actor,
            "bundle": bundle_parse(values["bundle"]),
            "workspace": values.get("workspace"),
            "choices": values.get("choices"),
        }

    @extend_schema(
        request=BundleInputSerializer,
        responses={200: OpenApiTypes.OBJECT},
        description="What importing would do, writing nothing: each service resolved or missing "
        "(with candidates: same definition fingerprint first, then same name or token URL host; "
        "whether you may create it here), each static auth slot's candidate authentications "
        "(matching scopes first, a mismatch warned), and whether the ordinary import goes through "
        "(ready). Send choices to see their effect. No URL in the bundle is called.",
    )
    def plan(self, request, *args, **kwargs):
        return Response(any_bundle_plan(**self._values()))

    @extend_schema(request=BundleInputSerializer, responses={201: BundleImportResultSerializer})
    def import_bundle(self, request, *args, **kwargs):
        """Import, all or nothing. Without choices a bundle needing a custom service this
        organization cannot see is refused (400, code custom_service_missing) naming it."""
        result = any_bundle_import(**self._values())
        solution = None
        if isinstance(result, SolutionImportResult):
            solution, result = result, result.imported
        body = {
            "project": project_get_for_actor(actor=self.actor, project_id=result.project.pk),
            "created": result.created,
            "services_created": result.services_created,
            "version_kept": result.version_kept.number if result.version_kept else None,
            "warnings": result.warnings,
        }
        if solution is not None:
            body.update(
                solution=solution.solution.pk,
                release=solution.release.number if solution.release else None,
                instances=solution.instances,
            )
        return Response(BundleImportResultSerializer(body).data, status=status.HTTP_201_CREATED)
