"""The projects API: thin views that parse input, call one domain function and render the result."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from infrastructure.ids import uuid_filter
from projects import projects
from projects.selectors import project_get_for_actor, project_list_for_actor
from projects.serializers import ProjectCreateSerializer, ProjectSerializer, ProjectUpdateSerializer
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
