"""Scoped reads of projects: views call these, never Project.objects.

A project is seen by whoever sees its workspace (workspaces.selectors.workspace_list_for_actor):
org owners, admins and organization keys see every workspace's; members the organization
workspace's, their personal workspace's and those of the shared or embedded workspaces they were
added to. End users see none (the wizard shows them solutions, not projects).
"""

from django.db.models import Prefetch, Q, QuerySet

from infrastructure.errors import NotFound
from projects.models import AuthSlot, Project
from workspaces.access import Actor
from workspaces.selectors import workspace_list_for_actor


def project_list_for_actor(
    *, actor: Actor, workspace_id=None, search: str | None = None
) -> QuerySet[Project]:
    if actor.end_user is not None:
        return Project.objects.none()
    projects = Project.objects.filter(
        organization=actor.organization, workspace__in=workspace_list_for_actor(actor=actor)
    )
    if workspace_id:
        projects = projects.filter(workspace_id=workspace_id)
    if search:
        search = search.strip()
        projects = projects.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return projects.select_related("workspace").prefetch_related(
        Prefetch("auth_slots", queryset=AuthSlot.objects.select_related("service")),
        "config_slots",
        "workflows",
    )


def project_get_for_actor(*, actor: Actor, project_id) -> Project:
    project = project_list_for_actor(actor=actor).filter(pk=project_id).first()
    if project is None:
        raise NotFound("Project not found.")
    return project
