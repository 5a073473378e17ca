"""This app's API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

from projects.projects import project_create
from tests.projects.builders import workspace_of


def _org(t):
    return {"organization_slug": t.organization.slug}


def _project(t):
    project = project_create(
        actor=t.actor(t.owner), workspace=workspace_of(t), name="Victim project"
    )
    return {**_org(t), "pk": project.pk}


ENDPOINTS = {
    "project-list": (["get", "post"], _org),
    "project-detail": (["get", "patch", "delete"], _project),
    "project-bundle": (["get"], _project),
    "project-workflow-bundle": (["get"], lambda t: {**_project(t), "index": 0}),
    "project-versions": (["get"], _project),
    "project-rollback": (["post"], _project),
    "bundle-plan": (["post"], _org),
    "bundle-import": (["post"], _org),
}
