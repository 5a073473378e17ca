"""The projects API: create, list, read, change and delete a project with its slots and workflows,
as an organization's backend (an organization API key) and as a member."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from embedded.solutions import solution_create
from projects.projects import project_create
from tests.connections.helpers import personal_workspace
from tests.projects.builders import (
    crm_service,
    definition,
    shared_auth,
    token_service,
    workspace_of,
)
from workspaces.models import OrganizationAPIKey

pytestmark = pytest.mark.django_db


def url(tenant, pk=None):
    kwargs = {"organization_slug": tenant.organization.slug}
    if pk is None:
        return reverse("project-list", kwargs=kwargs)
    return reverse("project-detail", kwargs={**kwargs, "pk": pk})


def backend(tenant) -> APIClient:
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=tenant.organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_an_organization_key_creates_reads_changes_and_deletes_a_project(tenant):
    client = backend(tenant)
    crm, weather = crm_service(tenant), token_service(tenant)
    key = shared_auth(tenant, weather)
    body = {
        "name": "CRM sync",
        "description": "Contacts by region.",
        "workspace": str(workspace_of(tenant).pk),
        **definition(crm),
    }
    body["auth_slots"].append(
        {
            "external_id": "weather",
            "title": "Weather",
            "service": str(weather.pk),
            "static_authentication": str(key.pk),
        }
    )

    created = client.post(url(tenant), body, format="json")

    assert created.status_code == 201, created.content
    project = created.json()
    assert project["workspace"] == str(workspace_of(tenant).pk)
    assert [s["external_id"] for s in project["auth_slots"]] == ["crm", "weather"]
    assert project["auth_slots"][0]["service_name"] == crm.name
    assert project["auth_slots"][1]["static_authentication"] == str(key.pk)
    assert "weather-key-0123456789" not in created.content.decode()
    assert project["config_slots"][0]["choices"] == ["eu", "us"]
    step = project["workflows"][0]["steps"][0]
    assert step["request"] == {
        "method": "GET",
        "path": "/contacts",
        "query": {"region": "{{config.region}}"},
    }

    listed = client.get(url(tenant), {"workspace": str(workspace_of(tenant).pk), "search": "crm"})
    assert [p["id"] for p in listed.json()["results"]] == [project["id"]]
    assert client.get(url(tenant), {"search": "nothing like it"}).json()["results"] == []
    elsewhere = str(personal_workspace(tenant, tenant.owner).pk)
    assert client.get(url(tenant), {"workspace": elsewhere}).json()["results"] == []

    assert client.get(url(tenant, project["id"])).json() == project

    changed = client.patch(
        url(tenant, project["id"]),
        {"name": "CRM contacts sync", "workflows": []},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "CRM contacts sync" and changed.json()["workflows"] == []
    assert len(changed.json()["auth_slots"]) == 2  # not given: kept

    assert client.delete(url(tenant, project["id"])).status_code == 204
    assert client.get(url(tenant, project["id"])).status_code == 404


def test_a_member_creates_in_their_personal_workspace_and_others_do_not_see_it(tenant, api):
    crm = crm_service(tenant)
    client = api.as_user(tenant.contributor)
    created = client.post(url(tenant), {"name": "Mine", **definition(crm)}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["workspace"] == str(personal_workspace(tenant, tenant.contributor).pk)
    assert [p["name"] for p in client.get(url(tenant)).json()["results"]] == ["Mine"]

    viewer = api.as_user(tenant.viewer)
    assert viewer.get(url(tenant)).json()["results"] == []
    assert viewer.get(url(tenant, created.json()["id"])).status_code == 404
    admin = api.as_user(tenant.admin)
    assert admin.get(url(tenant, created.json()["id"])).status_code == 200


def test_a_viewer_is_refused_in_the_organization_workspace(tenant, api):
    refused = api.as_user(tenant.viewer).post(
        url(tenant), {"name": "Nope", "workspace": str(workspace_of(tenant).pk)}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_allowed"


def test_a_refused_definition_names_the_field(tenant):
    crm = crm_service(tenant)
    slots = definition(crm)["auth_slots"]
    slots[0]["scopes"] = ["contacts.read", "everything"]
    refused = backend(tenant).post(
        url(tenant),
        {"name": "CRM sync", "workspace": str(workspace_of(tenant).pk), "auth_slots": slots},
        format="json",
    )
    assert refused.status_code == 400
    fields = refused.json()["error"]["fields"]
    assert list(fields) == ["auth_slots[0].scopes"]
    assert "does not offer everything" in fields["auth_slots[0].scopes"][0]


def test_a_project_stays_in_its_workspace(tenant):
    project = project_create(
        actor=tenant.actor(tenant.owner), workspace=workspace_of(tenant), name="CRM sync"
    )
    moved = backend(tenant).patch(
        url(tenant, project.pk),
        {"workspace": str(personal_workspace(tenant, tenant.owner).pk)},
        format="json",
    )
    assert moved.status_code == 400 and "workspace" in moved.json()["error"]["fields"]


def test_a_workspace_filter_that_is_not_an_id_is_refused_naming_it(tenant):
    refused = backend(tenant).get(url(tenant), {"workspace": "team"})
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["workspace"]


def test_deleting_a_project_with_a_solution_is_a_conflict_naming_it(embedded_tenant):
    owner = embedded_tenant.actor(embedded_tenant.owner)
    project = project_create(actor=owner, name="For customers")
    solution_create(actor=owner, project=project, name="Customer CRM sync")
    refused = backend(embedded_tenant).delete(url(embedded_tenant, project.pk))
    assert refused.status_code == 409
    assert "Customer CRM sync" in refused.json()["error"]["message"]
