"""Projects in the admin: an org owner sees their own organization's only, picks services,
authentications and workspaces of their organization only, and saves a project with its slots and
workflows through the domain function: a refused workflow shows beside its field and saves
nothing."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from projects.models import Project
from projects.projects import project_create
from tests.lifecycle.factories import make_auth
from tests.projects.builders import crm_service, definition, workspace_of

pytestmark = pytest.mark.django_db


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def form_data(tenant, crm, *, steps, name="CRM sync"):
    """The add form: one CRM auth slot, a region select, one workflow."""
    return {
        "workspace": str(workspace_of(tenant).pk),
        "name": name,
        "description": "",
        **management("auth_slots", 1),
        "auth_slots-0-external_id": "crm",
        "auth_slots-0-title": "Your CRM",
        "auth_slots-0-service": str(crm.pk),
        "auth_slots-0-scopes": json.dumps(["contacts.read"]),
        "auth_slots-0-static_authentication": "",
        **management("config_slots", 1),
        "config_slots-0-external_id": "region",
        "config_slots-0-title": "Region",
        "config_slots-0-help_text": "",
        "config_slots-0-type": "select",
        "config_slots-0-default": json.dumps("eu"),
        "config_slots-0-choices": json.dumps(["eu", "us"]),
        "config_slots-0-pattern": "",
        **management("workflows", 1),
        "workflows-0-name": "Read contacts",
        "workflows-0-description": "",
        "workflows-0-steps": json.dumps(steps),
    }


def steps(path="/contacts"):
    return [
        {
            "name": "List contacts",
            "auth_slot": "crm",
            "request": {"method": "GET", "path": path, "query": {"region": "{{config.region}}"}},
        }
    ]


def test_an_owner_sees_only_their_organizations_projects(tenant, other_tenant, client):
    mine = project_create(
        actor=tenant.actor(tenant.owner), workspace=workspace_of(tenant), name="Our sync"
    )
    theirs = project_create(
        actor=other_tenant.actor(other_tenant.owner),
        workspace=workspace_of(other_tenant),
        name="Their secret plan",
    )
    client.force_login(tenant.owner)
    listing = client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert mine.name in listing and "Their secret plan" not in listing
    other = client.get(reverse("admin:projects_project_change", args=[theirs.pk]))
    assert other.status_code in (302, 404)


def test_choices_are_the_organizations_own(tenant, other_tenant, client):
    crm, their_crm = crm_service(tenant), crm_service(other_tenant)
    ours = make_auth(tenant, crm, owner=tenant.owner, name="Our CRM login")
    make_auth(other_tenant, their_crm, owner=other_tenant.owner, name="Their CRM login")
    project = project_create(
        actor=tenant.actor(tenant.owner),
        workspace=workspace_of(tenant),
        name="CRM sync",
        **definition(crm),
    )
    client.force_login(tenant.owner)
    for page in (
        client.get(reverse("admin:projects_project_add")),
        client.get(reverse("admin:projects_project_change", args=[project.pk])),
    ):
        html = page.content.decode()
        assert page.status_code == 200
        assert crm.name in html and their_crm.name not in html
        assert ours.name in html and "Their CRM login" not in html
        assert other_tenant.organization.name not in html
    assert ours.access_token.reveal() not in html


def test_an_owner_adds_a_project_with_its_slots_and_workflows(tenant, client):
    crm = crm_service(tenant)
    client.force_login(tenant.owner)
    saved = client.post(
        reverse("admin:projects_project_add"), form_data(tenant, crm, steps=steps())
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    project = Project.objects.get(organization=tenant.organization)
    assert LogEntry.objects.get(object_id=str(project.pk)).is_addition()
    assert [s.external_id for s in project.auth_slots.all()] == ["crm"]
    assert project.config_slots.get().choices == ["eu", "us"]
    assert project.workflows.get().steps[0]["request"]["path"] == "/contacts"
    assert project.created_by == tenant.owner


def test_a_refused_workflow_shows_beside_its_field_and_saves_nothing(tenant, client):
    crm = crm_service(tenant)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        workspace=workspace_of(tenant),
        name="CRM sync",
        **definition(crm),
    )
    slot, config, workflow = (
        project.auth_slots.get(),
        project.config_slots.get(),
        project.workflows.get(),
    )
    data = form_data(tenant, crm, steps=steps(path="contacts"), name="Renamed")
    data.update(
        {
            **management("auth_slots", 1, initial=1),
            **management("config_slots", 1, initial=1),
            **management("workflows", 1, initial=1),
            "auth_slots-0-id": str(slot.pk),
            "auth_slots-0-project": str(project.pk),
            "auth_slots-0-external_id": "main-crm",
            "config_slots-0-id": str(config.pk),
            "config_slots-0-project": str(project.pk),
            "workflows-0-id": str(workflow.pk),
            "workflows-0-project": str(project.pk),
        }
    )
    client.force_login(tenant.owner)
    refused = client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "workflows[0].steps[0].auth_slot" in html  # the workflow still names "crm"
    project.refresh_from_db()
    assert project.name == "CRM sync"
    assert [s.external_id for s in project.auth_slots.all()] == ["crm"]

    data["workflows-0-steps"] = json.dumps([{**steps(path="contacts")[0], "auth_slot": "main-crm"}])
    refused = client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
    assert "workflows[0].steps[0].request.path" in refused.content.decode()

    data["workflows-0-steps"] = json.dumps([{**steps()[0], "auth_slot": "main-crm"}])
    saved = client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
    assert saved.status_code == 302
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert [s.external_id for s in project.auth_slots.all()] == ["main-crm"]


def test_deleting_in_the_admin_goes_through_the_domain(tenant, client):
    project = project_create(
        actor=tenant.actor(tenant.owner), workspace=workspace_of(tenant), name="Old sync"
    )
    client.force_login(tenant.owner)
    url = reverse("admin:projects_project_delete", args=[project.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()
