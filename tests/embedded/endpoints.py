"""This app's API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

from embedded.models import Release, Solution, SolutionInstance
from projects.models import Project
from workspaces.models import EndUser, Workspace, WorkspaceKind


def _org(t):
    return {"organization_slug": t.organization.slug}


def _solution(t) -> Solution:
    workspace, _ = Workspace.objects.get_or_create(
        organization=t.organization, kind=WorkspaceKind.EMBEDDED, defaults={"name": "Embedded"}
    )
    project = Project.objects.create(
        organization=t.organization, workspace=workspace, name="Victim project"
    )
    return Solution.objects.create(
        organization=t.organization, workspace=workspace, project=project, name="Victim solution"
    )


def _solution_kwargs(t):
    return {**_org(t), "pk": _solution(t).pk}


def _instance_kwargs(t):
    solution = _solution(t)
    release = Release.objects.create(
        solution=solution,
        number=1,
        snapshot={"auth_slots": [], "config_slots": [], "workflows": [], "screens": []},
    )
    end_user = EndUser.objects.create(organization=t.organization, external_user_id="victim")
    instance = SolutionInstance.objects.create(
        organization=t.organization,
        solution=solution,
        release=release,
        end_user=end_user,
        name="Victim instance",
    )
    return {**_org(t), "pk": instance.pk}


def _end_user_kwargs(t):
    end_user = EndUser.objects.create(organization=t.organization, external_user_id="victim")
    return {**_org(t), "pk": end_user.pk}


ENDPOINTS = {
    "solution-list": (["get", "post"], _org),
    "solution-detail": (["get", "patch", "delete"], _solution_kwargs),
    "solution-publish": (["post"], _solution_kwargs),
    "solution-releases": (["get"], _solution_kwargs),
    "solution-bundle": (["get"], _solution_kwargs),
    "instance-list": (["get", "post"], _org),
    "instance-detail": (["get", "patch", "delete"], _instance_kwargs),
    "instance-enable": (["post"], _instance_kwargs),
    "instance-disable": (["post"], _instance_kwargs),
    "instance-request": (["post"], _instance_kwargs),
    "end-user-authorization-codes": (["post"], _end_user_kwargs),
    "end-user-connect-links": (["post"], _end_user_kwargs),
    "end-user-list": (["get", "post"], _org),
    "end-user-detail": (["get", "patch", "delete"], _end_user_kwargs),
    "end-user-authentications": (["get", "post"], _end_user_kwargs),
}
