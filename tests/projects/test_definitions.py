"""A project's definition is checked as a whole before anything is written, and every refusal names
the exact field to fix: one case per rule."""

import pytest

from auths.models import Authentication
from infrastructure.errors import RuleViolation
from projects.definitions import project_snapshot
from projects.models import Project
from projects.projects import project_create
from services.catalog import catalog_load
from services.models import Service
from tests.lifecycle.factories import make_auth
from tests.projects.builders import (
    crm_service,
    definition,
    shared_auth,
    token_service,
    workspace_of,
)
from workspaces.models import EndUser, WorkspaceKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant, other_tenant):
    crm = crm_service(tenant)
    weather = token_service(tenant)
    return {
        "tenant": tenant,
        "crm": crm,
        "weather": weather,
        "team_key": shared_auth(tenant, weather),
        "crm_auth": make_auth(tenant, crm, owner=tenant.owner, scopes=["contacts.read"]),
        "their_crm": crm_service(other_tenant),
        "their_key": shared_auth(other_tenant, token_service(other_tenant)),
    }


def create(world, **parts):
    tenant = world["tenant"]
    return project_create(
        actor=tenant.actor(tenant.owner),
        workspace=workspace_of(tenant),
        name="CRM sync",
        **definition(world["crm"], **parts),
    )


def slot(service, **fields):
    return {"external_id": "crm", "title": "Your CRM", "service": str(service.pk), **fields}


def step(**request):
    return {
        "name": "List contacts",
        "auth_slot": "crm",
        "request": {"method": "GET", "path": "/contacts", **request},
    }


def workflow(*steps):
    return [{"name": "Read contacts", "steps": list(steps)}]


CASES = {
    "an external id that is not a slug": (
        lambda w: {"auth_slots": [slot(w["crm"], external_id="your crm")]},
        "auth_slots[0].external_id",
        "give a slug",
    ),
    "an external id shared by an auth slot and a config slot": (
        lambda w: {"config_slots": [{"external_id": "crm", "title": "CRM name"}]},
        "config_slots[0].external_id",
        "already the external id of auth_slots[0]",
    ),
    "a scope the service does not offer": (
        lambda w: {
            "auth_slots": [
                slot(w["crm"], scopes=["contacts.read"]),
                slot(w["crm"], external_id="crm2", scopes=["contacts.delete"]),
            ]
        },
        "auth_slots[1].scopes",
        "does not offer contacts.delete",
    ),
    "a scope on a service that declares none": (
        lambda w: {"auth_slots": [slot(w["weather"], scopes=["read"])], "workflows": []},
        "auth_slots[0].scopes",
        "declares no scopes",
    ),
    "another organization's custom service": (
        lambda w: {"auth_slots": [slot(w["their_crm"])], "workflows": []},
        "auth_slots[0].service",
        "a service your organization can use",
    ),
    "a service id that is not an id": (
        lambda w: {"auth_slots": [{**slot(w["crm"]), "service": "crm"}]},
        "auth_slots[0].service",
        "give the id of a service",
    ),
    "another organization's authentication as the static one": (
        lambda w: {
            "auth_slots": [slot(w["weather"], static_authentication=str(w["their_key"].pk))],
            "workflows": [],
        },
        "auth_slots[0].static_authentication",
        "an authentication of your organization",
    ),
    "a static authentication of another service": (
        lambda w: {"auth_slots": [slot(w["crm"], static_authentication=str(w["team_key"].pk))]},
        "auth_slots[0].static_authentication",
        "is an authentication of Weather",
    ),
    "a static authentication without the slot's scopes": (
        lambda w: {
            "auth_slots": [
                slot(
                    w["crm"],
                    scopes=["contacts.read", "contacts.write"],
                    static_authentication=str(w["crm_auth"].pk),
                )
            ]
        },
        "auth_slots[0].static_authentication",
        "lacks the slot's scopes contacts.write",
    ),
    "a static slot that is also force unique": (
        lambda w: {
            "auth_slots": [
                slot(w["weather"], static_authentication=str(w["team_key"].pk), force_unique=True)
            ],
            "workflows": [],
        },
        "auth_slots[0].force_unique",
        "cannot also make each end user",
    ),
    "a default that is not one of the choices": (
        lambda w: {
            "config_slots": [
                {
                    "external_id": "region",
                    "title": "Region",
                    "type": "select",
                    "choices": ["eu", "us"],
                    "default": "apac",
                }
            ]
        },
        "config_slots[0].default",
        "'Region' is one of: eu, us",
    ),
    "a default of the wrong type": (
        lambda w: {
            "config_slots": [
                {"external_id": "region", "title": "Region"},
                {"external_id": "limit", "title": "Limit", "type": "number", "default": "50"},
            ]
        },
        "config_slots[1].default",
        "'Limit' is a number",
    ),
    "a select slot without choices": (
        lambda w: {"config_slots": [{"external_id": "region", "title": "R", "type": "select"}]},
        "config_slots[0].choices",
        "needs a list of choices",
    ),
    "choices on a string slot": (
        lambda w: {"config_slots": [{"external_id": "region", "title": "R", "choices": ["eu"]}]},
        "config_slots[0].choices",
        "only select and multiselect",
    ),
    "a pattern on a number slot": (
        lambda w: {
            "config_slots": [
                {"external_id": "region", "title": "R", "type": "number", "pattern": "[0-9]+"}
            ]
        },
        "config_slots[0].pattern",
        "only string slots have a pattern",
    ),
    "a pattern RE2 cannot run": (
        lambda w: {"config_slots": [{"external_id": "region", "title": "R", "pattern": "(?=eu)e"}]},
        "config_slots[0].pattern",
        "lookaround",
    ),
    "a default that does not match the pattern": (
        lambda w: {
            "config_slots": [
                {"external_id": "region", "title": "Region", "pattern": "[a-z]+", "default": "EU"}
            ]
        },
        "config_slots[0].default",
        "must match the pattern [a-z]+",
    ),
    "an unknown config type": (
        lambda w: {"config_slots": [{"external_id": "region", "title": "R", "type": "date"}]},
        "config_slots[0].type",
        "choose one of string",
    ),
    "a step naming no auth slot of the project": (
        lambda w: {"workflows": workflow({**step(), "auth_slot": "erp"})},
        "workflows[0].steps[0].auth_slot",
        "its auth slots are: crm",
    ),
    "a method other than GET, POST, PUT, PATCH, DELETE": (
        lambda w: {"workflows": workflow(step(method="TRACE"))},
        "workflows[0].steps[0].request.method",
        "choose one of GET",
    ),
    "a path without its leading slash": (
        lambda w: {"workflows": workflow(step(), step(), step(path="contacts"))},
        "workflows[0].steps[2].request.path",
        "starting with one /",
    ),
    "an absolute URL instead of a path": (
        lambda w: {"workflows": workflow(step(path="https://elsewhere.example/contacts"))},
        "workflows[0].steps[0].request.path",
        "starting with one /",
    ),
    "a query placeholder naming no config slot": (
        lambda w: {"workflows": workflow(step(query={"region": "{{config.area}}"}))},
        "workflows[0].steps[0].request.query.region",
        "{{config.area}} names no config slot",
    ),
    "a header placeholder naming no config slot": (
        lambda w: {"workflows": workflow(step(headers={"X-Region": "{{config.area}}"}))},
        "workflows[0].steps[0].request.headers.X-Region",
        "{{config.area}} names no config slot",
    ),
    "a JSON placeholder naming no config slot": (
        lambda w: {
            "workflows": workflow(
                step(method="POST", json={"filter": {"regions": ["eu", "{{config.area}}"]}})
            )
        },
        "workflows[0].steps[0].request.json.filter.regions[1]",
        "{{config.area}} names no config slot",
    ),
    "a placeholder that is neither a config slot nor a parameter of the service": (
        lambda w: {"workflows": workflow(step(path="/{{tenant}}/contacts"))},
        "workflows[0].steps[0].request.path",
        "neither a config slot",
    ),
    "the credential header set by hand": (
        lambda w: {"workflows": workflow(step(headers={"Authorization": "Bearer abc"}))},
        "workflows[0].steps[0].request.headers.Authorization",
        "carries the credentials",
    ),
    "a field steps do not have": (
        lambda w: {"workflows": workflow({**step(), "url": "https://x.example"})},
        "workflows[0].steps[0].url",
        "not a field here",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refusal_names_the_field_and_writes_nothing(case, world):
    parts, field, fragment = CASES[case]
    with pytest.raises(RuleViolation) as refused:
        create(world, **parts(world))
    assert refused.value.field == field
    assert fragment in refused.value.message
    assert refused.value.message.startswith(field)
    assert not Project.objects.filter(organization=world["tenant"].organization).exists()


def test_an_end_users_authentication_cannot_be_a_static_one(embedded_tenant):
    crm = crm_service(embedded_tenant)
    embedded = workspace_of(embedded_tenant, WorkspaceKind.EMBEDDED)
    end_user = EndUser.objects.create(
        organization=embedded_tenant.organization, external_user_id="customer-1"
    )
    theirs = Authentication.objects.create(
        organization=embedded_tenant.organization,
        workspace=embedded,
        service=crm,
        end_user=end_user,
        name="Pat's CRM",
        scopes=["contacts.read"],
    )
    with pytest.raises(RuleViolation) as refused:
        project_create(
            actor=embedded_tenant.actor(embedded_tenant.owner),
            workspace=embedded,
            name="Sync",
            auth_slots=[slot(crm, static_authentication=str(theirs.pk))],
        )
    assert refused.value.field == "auth_slots[0].static_authentication"
    assert "end user's authentication cannot be shared" in refused.value.message


def test_a_full_definition_is_stored_in_list_order(world):
    catalog_load()
    github = Service.objects.get(slug="github", source="connector")
    project = create(
        world,
        auth_slots=[
            slot(world["crm"], scopes=["contacts.read"]),
            slot(github, external_id="code", title="GitHub", scopes=["repo"], hidden=True),
            slot(
                world["weather"],
                external_id="weather",
                title="Weather",
                static_authentication=str(world["team_key"].pk),
            ),
        ],
        config_slots=[
            {"external_id": "region", "title": "Region", "type": "select", "choices": ["eu"]},
            {"external_id": "tags", "title": "Tags", "type": "multiselect", "choices": ["a", "b"]},
            {"external_id": "filter", "title": "Filter", "type": "json", "default": {"any": [1]}},
            {"external_id": "code-id", "title": "Code", "pattern": "[A-Z]{2}", "default": "EU"},
        ],
        workflows=workflow(
            step(path="/{{subdomain}}/contacts", query={"region": "{{ config.region }}"}),
            step(
                method="post",
                path="/contacts/search",
                headers={"X-Code": "{{config.code-id}}"},
                json={"where": {"tags": "{{config.tags}}"}, "limit": 50},
            ),
        ),
    )
    snapshot = project_snapshot(project)
    assert [s["external_id"] for s in snapshot["auth_slots"]] == ["crm", "code", "weather"]
    assert [s["external_id"] for s in snapshot["config_slots"]] == [
        "region",
        "tags",
        "filter",
        "code-id",
    ]
    weather = snapshot["auth_slots"][2]
    assert weather["static_authentication"] == str(world["team_key"].pk)
    assert weather["hidden"] is True  # a static slot is never shown to end users
    assert snapshot["config_slots"][2]["default"] == {"any": [1]}
    assert snapshot["workflows"][0]["steps"][1]["request"]["method"] == "POST"
    assert list(project.auth_slots.values_list("position", flat=True)) == [0, 1, 2]


def test_the_snapshot_keeps_the_keys_solutions_read(world):
    snapshot = project_snapshot(create(world))
    assert set(snapshot) >= {"auth_slots", "config_slots", "workflows"}
    assert set(snapshot["auth_slots"][0]) >= {
        "external_id",
        "title",
        "service",
        "service_name",
        "auth_scheme",
        "scopes",
        "hidden",
        "static_authentication",
        "force_unique",
    }
    assert set(snapshot["config_slots"][0]) >= {
        "external_id",
        "title",
        "help_text",
        "type",
        "required",
        "default",
        "choices",
        "pattern",
        "hidden",
    }
    assert set(snapshot["workflows"][0]) >= {"name", "description", "steps"}
    assert snapshot["auth_slots"][0]["service"] == str(world["crm"].pk)
