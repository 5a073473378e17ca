"""Projects: create, change and delete a project together with its slots and workflows.

- A project lives in a workspace of the actor's organization. Who may manage it there is the rule
  for every asset (workspaces.access.require_asset_creation): in a personal workspace its owner
  alone, never a viewer; elsewhere the workspace's contributors and admins (org owners and admins
  are admins of every workspace). End users manage no projects.
- A definition is written in one call: each of auth_slots, config_slots and workflows that is given
  replaces the project's list whole, positions in list order, inside one transaction and only
  after the whole definition was checked (projects.definitions), so a refused workflow leaves the
  old slots as they were.
- A project a solution is made from is kept (Solution.project is PROTECT): deleting it is refused
  with the solutions named.
- An import that replaces a project keeps its previous definition as a ProjectVersion first;
  project_rollback restores one (keeping the definition it replaces, so a rollback can be undone).
- A project holds no secret: a static slot names its authentication by id. Nothing here logs or
  records values beyond the project's own rows.
"""

import json

from django.db import transaction
from django.db.models import Max, ProtectedError

from infrastructure.errors import Conflict, NotAllowed, NotFound, held_rows_description
from projects.definitions import (
    Definition,
    definition_clean,
    one_line_clean,
    project_definition,
    text_clean,
)
from projects.models import AuthSlot, ConfigSlot, Project, ProjectVersion, Workflow
from workspaces.access import Actor, asset_workspace, require_asset_creation
from workspaces.models import Workspace

PARTS = ("auth_slots", "config_slots", "workflows")


def require_may_manage_project(*, actor: Actor, workspace: Workspace) -> None:
    """Raise unless the actor may create, change or delete projects in the workspace."""
    if actor.end_user is not None:
        raise NotAllowed("End users use solutions; they do not manage projects.")
    require_asset_creation(actor=actor, workspace=workspace)


def _write(project: Project, definition: Definition, parts) -> None:
    """Replace the named lists of the project with the definition's (already checked)."""
    if "auth_slots" in parts:
        project.auth_slots.all().delete()
        AuthSlot.objects.bulk_create(
            AuthSlot(project=project, position=position, **slot)
            for position, slot in enumerate(definition.auth_slots)
        )
    if "config_slots" in parts:
        project.config_slots.all().delete()
        ConfigSlot.objects.bulk_create(
            ConfigSlot(project=project, position=position, **slot)
            for position, slot in enumerate(definition.config_slots)
        )
    if "workflows" in parts:
        project.workflows.all().delete()
        Workflow.objects.bulk_create(
            Workflow(project=project, position=position, **workflow)
            for position, workflow in enumerate(definition.workflows)
        )


@transaction.atomic
def project_create(
    *,
    actor: Actor,
    name: str,
    workspace: Workspace | None = None,
    description: str = "",
    auth_slots: list | None = None,
    config_slots: list | None = None,
    workflows: list | None = None,
) -> Project:
    """A project with its definition. Without a workspace it goes where the actor's assets go
    (their personal workspace on the platform edition, else the embedded workspace)."""
    workspace = asset_workspace(actor=actor, workspace=workspace)
    require_may_manage_project(actor=actor, workspace=workspace)
    name = one_line_clean(name, "name")
    description = text_clean(description, "description")
    definition = definition_clean(
        actor=actor,
        auth_slots=auth_slots or [],
        config_slots=config_slots or [],
        workflows=workflows or [],
    )
    project = Project.objects.create(
        organization=actor.organization,
        workspace=workspace,
        name=name,
        description=description,
        created_by=actor.user,
    )
    _write(project, definition, PARTS)
    return project


@transaction.atomic
def project_update(
    *,
    actor: Actor,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    auth_slots: list | None = None,
    config_slots: list | None = None,
    workflows: list | None = None,
) -> Project:
    """Change the name, the description, and replace any of the three lists. The lists not given
    stay, and are checked with the new ones (a workflow must still name existing slots)."""
    if project.organization_id != actor.organization.pk:
        raise NotFound("Project not found.")
    project = Project.objects.select_for_update().select_related("workspace").get(pk=project.pk)
    require_may_manage_project(actor=actor, workspace=project.workspace)
    given = {"auth_slots": auth_slots, "config_slots": config_slots, "workflows": workflows}
    replaced = [part for part, value in given.items() if value is not None]
    definition = None
    if replaced:
        current = project_definition(project)
        definition = definition_clean(
            actor=actor,
            **{part: current[part] if value is None else value for part, value in given.items()},
        )
    if name is not None:
        project.name = one_line_clean(name, "name")
    if description is not None:
        project.description = text_clean(description, "description")
    # Everything is checked: the writes start here.
    project.save()
    if definition is not None:
        _write(project, definition, replaced)
    return project


def project_delete(*, actor: Actor, project: Project) -> None:
    if project.organization_id != actor.organization.pk:
        raise NotFound("Project not found.")
    require_may_manage_project(actor=actor, workspace=project.workspace)
    try:
        with transaction.atomic():
            project.delete()
    except ProtectedError as error:
        held, _ = held_rows_description(error.protected_objects)
        raise Conflict(
            f"'{project.name}' is the project of {held}; delete the solutions first (a solution "
            "keeps the project it was made from)."
        ) from None


def project_version_keep(*, actor: Actor, project: Project, reason: str) -> ProjectVersion:
    """Keep the project's definition as it stands, as its next version."""
    number = (project.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    definition = json.loads(json.dumps(project_definition(project), default=str))
    return ProjectVersion.objects.create(
        project=project,
        number=number,
        name=project.name,
        description=project.description,
        definition=definition,
        reason=reason[:300],
        created_by=actor.user,
    )


@transaction.atomic
def project_rollback(*, actor: Actor, project: Project, number: int) -> Project:
    """Restore the definition kept as version `number`, checked as any definition is (a service
    deleted since is refused, naming the slot)."""
    if project.organization_id != actor.organization.pk:
        raise NotFound("Project not found.")
    require_may_manage_project(actor=actor, workspace=project.workspace)
    version = project.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Project '{project.name}' has no version {number}.", field="version")
    project_version_keep(actor=actor, project=project, reason=f"before rolling back to v{number}")
    return project_update(
        actor=actor,
        project=project,
        name=version.name,
        description=version.description,
        **version.definition,
    )
