"""Creating, changing and deleting projects: who may do it where (the rules of every asset), a
definition replaced whole or not at all, and a project kept while a solution is made from it."""

import pytest

from embedded.solutions import solution_create
from infrastructure.errors import Conflict, NotAllowed, NotFound, RuleViolation
from projects.models import AuthSlot, ConfigSlot, Project, Workflow
from projects.projects import project_create, project_delete, project_update
from tests.connections.helpers import personal_workspace
from tests.projects.builders import crm_service, definition, workspace_of
from workspaces.access import Actor, actor_for_end_user
from workspaces.models import EndUser, OrgRole, WorkspaceKind, WorkspaceRole
from workspaces.shared_workspaces import workspace_create, workspace_member_add

pytestmark = pytest.mark.django_db


def new_project(actor, workspace, **fields):
    return project_create(actor=actor, workspace=workspace, name="CRM sync", **fields)


# --- who may manage projects where ---------------------------------------------------------------


def shared(tenant, member=None, role=None):
    owner = tenant.actor(tenant.owner)
    workspace = workspace_create(actor=owner, name="Team")
    if member is not None:
        workspace_member_add(
            actor=owner, workspace=workspace, membership=tenant.membership(member), role=role
        )
    return workspace


def api_key(tenant):
    return Actor(organization=tenant.organization, role=OrgRole.ADMIN)


ALLOWED = {
    "a contributor in their personal workspace": lambda t: (
        t.actor(t.contributor),
        personal_workspace(t, t.contributor),
    ),
    "a contributor in the organization workspace": lambda t: (
        t.actor(t.contributor),
        workspace_of(t),
    ),
    "a contributor of a shared workspace": lambda t: (
        t.actor(t.contributor),
        shared(t, t.contributor, WorkspaceRole.CONTRIBUTOR),
    ),
    "an admin in a shared workspace they are not in": lambda t: (t.actor(t.admin), shared(t)),
    "an organization API key in the organization workspace": lambda t: (
        api_key(t),
        workspace_of(t),
    ),
}

REFUSED = {
    "a contributor in another member's personal workspace": (
        lambda t: (t.actor(t.contributor), personal_workspace(t, t.owner)),
        NotFound,
    ),
    "an admin in a member's personal workspace": (
        lambda t: (t.actor(t.admin), personal_workspace(t, t.contributor)),
        NotAllowed,
    ),
    "a viewer in their own personal workspace": (
        lambda t: (t.actor(t.viewer), personal_workspace(t, t.viewer)),
        NotAllowed,
    ),
    "a viewer in the organization workspace": (
        lambda t: (t.actor(t.viewer), workspace_of(t)),
        NotAllowed,
    ),
    "a contributor in a shared workspace they are not in": (
        lambda t: (t.actor(t.contributor), shared(t)),
        NotFound,
    ),
    "a viewer of a shared workspace": (
        lambda t: (t.actor(t.contributor), shared(t, t.contributor, WorkspaceRole.VIEWER)),
        NotAllowed,
    ),
}


@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_who_may_create_projects(who, tenant):
    actor, workspace = ALLOWED[who](tenant)
    project = new_project(actor, workspace)
    assert project.workspace == workspace and project.organization == tenant.organization


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_who_may_not_create_projects(who, tenant):
    build, error = REFUSED[who]
    actor, workspace = build(tenant)
    with pytest.raises(error):
        new_project(actor, workspace)
    assert not Project.objects.exists()


def test_another_organizations_workspace_does_not_exist(tenant, other_tenant):
    with pytest.raises(NotFound):
        new_project(tenant.actor(tenant.owner), workspace_of(other_tenant))


def test_without_a_workspace_a_project_goes_where_the_actors_assets_go(tenant, embedded_tenant):
    mine = project_create(actor=tenant.actor(tenant.contributor), name="Mine")
    assert mine.workspace == personal_workspace(tenant, tenant.contributor)
    embedded = project_create(actor=api_key(embedded_tenant), name="For customers")
    assert embedded.workspace == workspace_of(embedded_tenant, WorkspaceKind.EMBEDDED)


def test_the_embedded_workspace_takes_its_members_and_never_end_users(embedded_tenant):
    embedded = workspace_of(embedded_tenant, WorkspaceKind.EMBEDDED)
    assert new_project(embedded_tenant.actor(embedded_tenant.admin), embedded)
    with pytest.raises(NotFound):
        new_project(embedded_tenant.actor(embedded_tenant.contributor), embedded)
    end_user = EndUser.objects.create(
        organization=embedded_tenant.organization, external_user_id="customer-1"
    )
    with pytest.raises(NotAllowed, match="do not manage projects"):
        new_project(actor_for_end_user(end_user), embedded)


def test_changing_and_deleting_follow_the_same_rules(tenant):
    project = new_project(tenant.actor(tenant.contributor), workspace_of(tenant))
    with pytest.raises(NotAllowed):
        project_update(actor=tenant.actor(tenant.viewer), project=project, name="Renamed")
    with pytest.raises(NotAllowed):
        project_delete(actor=tenant.actor(tenant.viewer), project=project)
    mine = new_project(
        tenant.actor(tenant.contributor), personal_workspace(tenant, tenant.contributor)
    )
    with pytest.raises(NotAllowed):
        project_update(actor=tenant.actor(tenant.admin), project=mine, name="Taken over")
    project_update(actor=tenant.actor(tenant.contributor), project=project, name="Renamed")
    assert Project.objects.get(pk=project.pk).name == "Renamed"


def test_another_organizations_project_does_not_exist(tenant, other_tenant):
    theirs = new_project(other_tenant.actor(other_tenant.owner), workspace_of(other_tenant))
    with pytest.raises(NotFound):
        project_update(actor=tenant.actor(tenant.owner), project=theirs, name="Mine now")
    with pytest.raises(NotFound):
        project_delete(actor=tenant.actor(tenant.owner), project=theirs)
    assert Project.objects.filter(pk=theirs.pk, name="CRM sync").exists()


# --- a definition is replaced whole or not at all ------------------------------------------------


@pytest.fixture
def project(tenant):
    crm = crm_service(tenant)
    return new_project(tenant.actor(tenant.owner), workspace_of(tenant), **definition(crm))


def rows(project):
    return (
        list(AuthSlot.objects.filter(project=project).values_list("external_id", "position")),
        list(ConfigSlot.objects.filter(project=project).values_list("external_id", "position")),
        list(Workflow.objects.filter(project=project).values_list("name", "position")),
    )


def test_a_bad_workflow_leaves_the_old_slots_and_workflows_intact(tenant, project):
    before = rows(project)
    crm = project.auth_slots.get().service
    new_slots = [
        {"external_id": "crm2", "title": "CRM", "service": str(crm.pk)},
        {"external_id": "crm3", "title": "CRM", "service": str(crm.pk)},
    ]
    bad = [{"name": "Broken", "steps": [{"name": "x", "auth_slot": "crm2", "request": {}}]}]
    with pytest.raises(RuleViolation) as refused:
        project_update(
            actor=tenant.actor(tenant.owner),
            project=project,
            name="Renamed",
            auth_slots=new_slots,
            config_slots=[],
            workflows=bad,
        )
    assert refused.value.field == "workflows[0].steps[0].request.method"
    assert rows(project) == before
    assert Project.objects.get(pk=project.pk).name == "CRM sync"


def test_lists_given_replace_the_old_ones_in_order_and_the_others_stay(tenant, project):
    crm = project.auth_slots.get().service
    project_update(
        actor=tenant.actor(tenant.owner),
        project=project,
        auth_slots=[
            {"external_id": "backup", "title": "Backup CRM", "service": str(crm.pk)},
            {"external_id": "crm", "title": "Main CRM", "service": str(crm.pk)},
        ],
    )
    auth, config, workflows = rows(project)
    assert auth == [("backup", 0), ("crm", 1)]
    assert config == [("region", 0)] and workflows == [("Read contacts", 0)]


def test_removing_a_slot_a_workflow_still_uses_is_refused(tenant, project):
    with pytest.raises(RuleViolation) as refused:
        project_update(actor=tenant.actor(tenant.owner), project=project, config_slots=[])
    assert refused.value.field == "workflows[0].steps[0].request.query.region"
    assert ConfigSlot.objects.filter(project=project, external_id="region").exists()


# --- deleting ------------------------------------------------------------------------------------


def test_a_project_without_solutions_is_deleted_with_its_parts(tenant, project):
    project_delete(actor=tenant.actor(tenant.owner), project=project)
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not AuthSlot.objects.filter(project_id=project.pk).exists()


def test_a_project_a_solution_is_made_from_is_kept_naming_the_solution(embedded_tenant):
    owner = embedded_tenant.actor(embedded_tenant.owner)
    project = project_create(actor=owner, name="For customers")
    solution_create(actor=owner, project=project, name="Customer CRM sync")
    with pytest.raises(Conflict) as refused:
        project_delete(actor=owner, project=project)
    assert "Customer CRM sync" in refused.value.message
    assert Project.objects.filter(pk=project.pk).exists()
