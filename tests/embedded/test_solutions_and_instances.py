"""Solutions, releases and instances through the API, as the customer's backend drives them (an
organization API key), against the real loopback OAuth provider."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from auths.models import Authentication
from embedded.models import SolutionInstance
from tests.conftest import build_tenant
from tests.embedded.builders import (
    backend,
    crm_service,
    embedded_workspace,
    end_user_auth,
    make_end_user,
    make_project,
)
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


@pytest.fixture
def world(embedded_tenant, server):
    """A project of the embedded workspace: a CRM auth slot (scope read) and a required channel."""
    service = crm_service(embedded_tenant, server)
    project = make_project(
        embedded_tenant,
        auth_slots=[
            {"external_id": "crm", "title": "Your CRM", "service": service, "scopes": ["read"]}
        ],
        config_slots=[
            {"external_id": "channel", "title": "Channel", "type": "string", "required": True}
        ],
    )
    return {"tenant": embedded_tenant, "service": service, "project": project}


def published(client, tenant, project):
    created = client.post(url("solution-list", tenant), {"project": str(project.pk)})
    assert created.status_code == 201, created.content
    solution = created.json()
    release = client.post(url("solution-publish", tenant, pk=solution["id"]))
    assert release.status_code == 201, release.content
    return solution["id"]


def new_instance(client, tenant, solution_id, end_user, **fields):
    return client.post(
        url("instance-list", tenant),
        {"solution": solution_id, "end_user": str(end_user.pk), **fields},
        format="json",
    )


def test_the_backend_flow_end_to_end(world, server):
    tenant, project = world["tenant"], world["project"]
    client = backend(tenant)

    created = client.post(url("solution-list", tenant), {"project": str(project.pk)})
    assert created.status_code == 201, created.content
    solution = created.json()
    assert solution["state"] == "draft" and solution["live_release"] is None
    assert solution["layout"] == {
        "screens": [
            {"title": world["service"].name, "slots": ["crm"]},
            {"title": "Settings", "slots": ["channel"]},
        ],
        "hidden": [],
    }
    release = client.post(url("solution-publish", tenant, pk=solution["id"])).json()
    assert release["number"] == 1
    detail = client.get(url("solution-detail", tenant, pk=solution["id"])).json()
    assert detail["state"] == "live" and detail["live_release"]["number"] == 1
    releases = client.get(url("solution-releases", tenant, pk=solution["id"])).json()
    assert [r["number"] for r in releases["results"]] == [1]
    assert releases["results"][0]["snapshot"]["auth_slots"][0]["external_id"] == "crm"

    end_user = make_end_user(tenant)
    auth = end_user_auth(end_user, world["service"], server, scopes=["read"])
    instance = new_instance(client, tenant, solution["id"], end_user)
    assert instance.status_code == 201, instance.content
    instance = instance.json()
    assert instance["enabled"] is False
    assert instance["auth_values"] == [
        {"external_id": "crm", "authentication_id": None, "status": None}
    ]
    assert any("'crm'" in p for p in instance["problems"])

    refused = client.post(url("instance-enable", tenant, pk=instance["id"]))
    assert refused.status_code == 409
    assert "'crm' has no authentication" in refused.json()["error"]["message"]
    assert "Channel" in refused.json()["error"]["message"]

    updated = client.patch(
        url("instance-detail", tenant, pk=instance["id"]),
        {
            "config_values": {"channel": "#sales"},
            "auth_values": [{"external_id": "crm", "authentication_id": str(auth.pk)}],
        },
        format="json",
    ).json()
    assert updated["auth_values"] == [
        {"external_id": "crm", "authentication_id": str(auth.pk), "status": "active"}
    ]
    assert updated["config_values"] == [{"external_id": "channel", "value": "#sales"}]
    assert updated["problems"] == []

    call = {"slot": "crm", "method": "GET", "path": "/echo/contacts"}
    disabled = client.post(url("instance-request", tenant, pk=instance["id"]), call, format="json")
    assert disabled.status_code == 409 and "disabled" in disabled.json()["error"]["message"]

    assert client.post(url("instance-enable", tenant, pk=instance["id"])).json()["enabled"]
    answer = client.post(url("instance-request", tenant, pk=instance["id"]), call, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == 200
    assert f'"username": "eu-{end_user.external_user_id}"' in answer.json()["body"]
    assert auth.access_token.reveal() not in answer.content.decode()


def test_binding_refusals_name_the_slot_and_say_why(world, server):
    tenant, service = world["tenant"], world["service"]
    client = backend(tenant)
    solution_id = published(client, tenant, world["project"])
    end_user, someone_else = make_end_user(tenant), make_end_user(tenant)
    instance = new_instance(client, tenant, solution_id, end_user).json()

    def bind(auth_id, external_id="crm"):
        return client.patch(
            url("instance-detail", tenant, pk=instance["id"]),
            {"auth_values": [{"external_id": external_id, "authentication_id": auth_id}]},
            format="json",
        )

    theirs = end_user_auth(someone_else, service, server, scopes=["read"])
    refused = bind(str(theirs.pk))
    assert refused.status_code == 400
    assert "not one of this end user's" in refused.json()["error"]["message"]

    narrow = end_user_auth(end_user, service, server, scopes=["write"])
    refused = bind(str(narrow.pk))
    assert (
        refused.status_code == 400 and "lacks the scopes read" in refused.json()["error"]["message"]
    )

    other_service = crm_service(tenant, server)
    wrong = end_user_auth(end_user, other_service, server, scopes=["read"])
    refused = bind(str(wrong.pk))
    assert refused.status_code == 400
    assert f"needs an authentication of {service.name}" in refused.json()["error"]["message"]

    refused = bind(str(narrow.pk), external_id="nope")
    assert refused.status_code == 400
    assert (
        refused.json()["error"]["fields"]
        == {"auth_values[0].external_id": [refused.json()["error"]["message"]]}
        or "auth_values[0].external_id" in refused.json()["error"]["fields"]
    )

    other_org = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    foreign = end_user_auth(make_end_user(other_org), crm_service(other_org, server), server)
    assert bind(str(foreign.pk)).status_code == 404


def test_a_force_unique_slot_takes_an_auth_of_its_own(embedded_tenant, server):
    service = crm_service(embedded_tenant, server)
    project = make_project(
        embedded_tenant,
        auth_slots=[
            {"external_id": "crm", "title": "CRM", "service": service, "force_unique": True}
        ],
    )
    client = backend(embedded_tenant)
    solution_id = published(client, embedded_tenant, project)
    end_user = make_end_user(embedded_tenant)
    auth = end_user_auth(end_user, service, server)
    binding = [{"external_id": "crm", "authentication_id": str(auth.pk)}]

    first = new_instance(client, embedded_tenant, solution_id, end_user, auth_values=binding)
    assert first.status_code == 201, first.content
    second = new_instance(client, embedded_tenant, solution_id, end_user, auth_values=binding)
    assert second.status_code == 400
    assert "force unique" in second.json()["error"]["message"]
    assert SolutionInstance.objects.count() == 1  # the refused creation left nothing behind


def test_a_static_slot_is_bound_to_the_shared_auth_and_cannot_be_rebound(embedded_tenant, server):
    service = crm_service(embedded_tenant, server)
    shared = end_user_auth(make_end_user(embedded_tenant), service, server)
    Authentication.objects.filter(pk=shared.pk).update(end_user=None)  # the organization's own
    project = make_project(
        embedded_tenant,
        auth_slots=[
            {
                "external_id": "ops",
                "title": "Ops",
                "service": service,
                "hidden": True,
                "static_authentication": shared,
            }
        ],
    )
    client = backend(embedded_tenant)
    solution_id = published(client, embedded_tenant, project)
    end_user = make_end_user(embedded_tenant)
    instance = new_instance(client, embedded_tenant, solution_id, end_user).json()
    assert instance["auth_values"] == [
        {"external_id": "ops", "authentication_id": str(shared.pk), "status": "active"}
    ]
    assert instance["problems"] == []
    rebind = client.patch(
        url("instance-detail", embedded_tenant, pk=instance["id"]),
        {"auth_values": [{"external_id": "ops", "authentication_id": str(shared.pk)}]},
        format="json",
    )
    assert rebind.status_code == 400 and "static slot" in rebind.json()["error"]["message"]
    enabled = client.post(url("instance-enable", embedded_tenant, pk=instance["id"]))
    assert enabled.status_code == 200, enabled.content


def test_a_release_asking_nothing_new_upgrades_instances_and_one_asking_more_waits(world, server):
    tenant, project, service = world["tenant"], world["project"], world["service"]
    client = backend(tenant)
    solution_id = published(client, tenant, project)
    end_user = make_end_user(tenant)
    auth = end_user_auth(end_user, service, server, scopes=["read"])
    instance = new_instance(
        client,
        tenant,
        solution_id,
        end_user,
        config_values={"channel": "#a"},
        auth_values=[{"external_id": "crm", "authentication_id": str(auth.pk)}],
    ).json()
    assert client.post(url("instance-enable", tenant, pk=instance["id"])).status_code == 200

    # Release 2: an optional setting with a default. Nothing new for the end user.
    project.config_slots.create(
        external_id="digest", title="Daily digest", type="boolean", default=True, position=5
    )
    assert client.get(url("solution-detail", tenant, pk=solution_id)).json()["state"] == "changed"
    second = client.post(url("solution-publish", tenant, pk=solution_id)).json()
    assert second["number"] == 2 and second["instances"] == {"upgraded": 1, "needs_upgrade": 0}
    moved = client.get(url("instance-detail", tenant, pk=instance["id"])).json()
    assert moved["release"] == 2 and moved["needs_upgrade"] is False and moved["enabled"]
    assert {"external_id": "digest", "value": True} in moved["config_values"]

    # Release 3: a required setting without a default. The end user must answer it.
    project.config_slots.create(
        external_id="region", title="Region", type="string", required=True, position=6
    )
    third = client.post(url("solution-publish", tenant, pk=solution_id)).json()
    assert third["instances"] == {"upgraded": 0, "needs_upgrade": 1}
    waiting = client.get(url("instance-detail", tenant, pk=instance["id"])).json()
    assert waiting["release"] == 2 and waiting["needs_upgrade"] is True
    client.post(url("instance-disable", tenant, pk=instance["id"]))
    refused = client.post(url("instance-enable", tenant, pk=instance["id"]))
    assert refused.status_code == 409 and "complete the wizard again" in refused.content.decode()

    answered = client.patch(
        url("instance-detail", tenant, pk=instance["id"]),
        {"config_values": {"region": "eu"}},
        format="json",
    ).json()
    assert answered["release"] == 3 and answered["needs_upgrade"] is False
    assert client.post(url("instance-enable", tenant, pk=instance["id"])).status_code == 200


def test_nothing_to_publish_and_a_solution_with_instances_is_kept(world):
    tenant = world["tenant"]
    client = backend(tenant)
    solution_id = published(client, tenant, world["project"])
    again = client.post(url("solution-publish", tenant, pk=solution_id))
    assert again.status_code == 409 and "no change since release 1" in again.content.decode()
    new_instance(client, tenant, solution_id, make_end_user(tenant))
    kept = client.delete(url("solution-detail", tenant, pk=solution_id))
    assert kept.status_code == 409 and "1 instance" in kept.json()["error"]["message"]


def test_the_layout_is_checked_slot_by_slot(world):
    tenant = world["tenant"]
    client = backend(tenant)
    solution_id = client.post(
        url("solution-list", tenant), {"project": str(world["project"].pk)}
    ).json()["id"]
    detail = url("solution-detail", tenant, pk=solution_id)

    def layout(screens):
        return client.patch(detail, {"layout": {"screens": screens}}, format="json")

    unknown = layout([{"title": "One", "slots": ["crm", "nope"]}])
    assert unknown.status_code == 400 and "no slot 'nope'" in unknown.content.decode()
    twice = layout([{"title": "One", "slots": ["crm"]}, {"title": "Two", "slots": ["crm"]}])
    assert twice.status_code == 400 and "already on a screen" in twice.content.decode()
    hidden_required = layout([{"title": "One", "slots": ["crm"]}])
    assert hidden_required.status_code == 400
    assert "'channel' is required and has no default" in hidden_required.content.decode()
    reordered = layout(
        [{"title": "Settings", "slots": ["channel"]}, {"title": "CRM", "slots": ["crm"]}]
    )
    assert reordered.status_code == 200, reordered.content
    assert reordered.json()["layout"]["screens"][0]["title"] == "Settings"


def test_a_project_outside_the_embedded_workspace_is_refused(world):
    tenant, project = world["tenant"], world["project"]
    project.workspace = embedded_workspace(tenant).organization.workspaces.get(kind="organization")
    project.save()
    refused = backend(tenant).post(url("solution-list", tenant), {"project": str(project.pk)})
    assert refused.status_code == 400 and "embedded workspace" in refused.content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("solution-list", "get"),
        ("solution-list", "post"),
        ("instance-list", "get"),
        ("instance-list", "post"),
    ],
)
def test_a_platform_organization_is_told_these_belong_to_the_embedded_edition(tenant, name, method):
    response = getattr(backend(tenant), method)(url(name, tenant), {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "embedded_edition_required"


def test_a_call_by_slot_costs_one_query_more_than_a_call_by_auth(world, server):
    """The slot lookup is one indexed query (instance and slot, the auth joined in)."""
    tenant, service = world["tenant"], world["service"]
    client = backend(tenant)
    solution_id = published(client, tenant, world["project"])
    end_user = make_end_user(tenant)
    auth = end_user_auth(end_user, service, server, scopes=["read"])
    instance = new_instance(
        client,
        tenant,
        solution_id,
        end_user,
        config_values={"channel": "#a"},
        auth_values=[{"external_id": "crm", "authentication_id": str(auth.pk)}],
    ).json()
    client.post(url("instance-enable", tenant, pk=instance["id"]))
    call = {"method": "GET", "path": "/echo"}

    def queries(name, **kwargs):
        client.post(url(name, tenant, **kwargs), {**call, "slot": "crm"}, format="json")  # warm
        with CaptureQueriesContext(connection) as captured:
            answer = client.post(
                url(name, tenant, **kwargs), {**call, "slot": "crm"}, format="json"
            )
        assert answer.status_code == 200, answer.content
        return len(captured)

    by_slot = queries("instance-request", pk=instance["id"])
    by_auth = queries("authentication-request", pk=auth.pk)
    assert by_slot - by_auth <= 1, (by_slot, by_auth)
