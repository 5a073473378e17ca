"""Bundles: exports are deterministic, schema-valid and hold no secret; an ordinary import refuses a
missing custom service naming it; the custom-service import chooses or creates services (within
the edition rules) and binds static slots; the mapping is remembered; nothing is half-imported."""

import json
import uuid

import pytest

from events.models import AuthEvent, EventKind
from infrastructure.errors import NotAllowed, RuleViolation
from projects.bundle_import import bundle_import, bundle_parse, bundle_plan
from projects.bundles import bundle_dumps, bundle_schema_errors, project_bundle, workflow_bundle
from projects.models import BundleMapping, Project, ProjectVersion
from projects.projects import project_create, project_rollback, project_update
from services.custom_services import custom_service_create
from services.models import Service, ServiceSource
from tests.conftest import build_tenant
from tests.lifecycle.factories import make_auth
from tests.projects.builders import (
    crm_service,
    definition,
    shared_auth,
    token_service,
    workspace_of,
)
from tests.services.builders import oauth2_definition
from workspaces.models import Edition, WorkspaceKind

pytestmark = pytest.mark.django_db


def crm_project(tenant, **parts):
    crm = crm_service(tenant)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="CRM sync",
        description="Reads contacts.",
        workspace=workspace_of(tenant),
        **definition(crm, **parts),
    )
    return project, crm


def exported(tenant, project, user=None):
    return project_bundle(actor=tenant.actor(user or tenant.owner), project=project)


def target(tenant):
    return tenant.actor(tenant.owner), workspace_of(tenant)


# --- export --------------------------------------------------------------------------------------


def test_an_export_is_schema_valid_deterministic_and_names_the_secrets_without_them(tenant):
    project, crm = crm_project(tenant)

    first, second = exported(tenant, project), exported(tenant, project)

    assert bundle_dumps(first) == bundle_dumps(second)
    assert bundle_schema_errors(first) == []
    text = bundle_dumps(first)
    assert "s3cret-client-value" not in text
    assert str(crm.pk) not in text
    (service,) = first["services"]
    assert service["source"] == "custom"
    assert service["secrets_required"] == ["client_secret"]
    assert "client_secret" not in service["definition"]
    assert service["definition"]["token_url"] == crm.token_url
    assert first["auth_slots"][0]["service"] == crm.slug
    assert first["id"] == str(project.pk)
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_an_export_names_a_connector_by_catalog_key_and_version(tenant):
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="Issues",
        workspace=workspace_of(tenant),
        auth_slots=[{"external_id": "gh", "title": "GitHub", "service": str(github.pk)}],
    )

    (service,) = exported(tenant, project)["services"]

    assert service["catalog_key"] == "github"
    assert service["catalog_version"].startswith("sha256:")
    assert "definition" not in service


def test_a_static_slot_is_exported_as_static_without_its_authentication(tenant):
    weather = token_service(tenant)
    key = shared_auth(tenant, weather)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="Weather",
        workspace=workspace_of(tenant),
        auth_slots=[
            {
                "external_id": "weather",
                "title": "Weather",
                "service": str(weather.pk),
                "static_authentication": str(key.pk),
            }
        ],
    )

    bundle = exported(tenant, project)

    assert bundle["auth_slots"][0]["static"] is True
    assert str(key.pk) not in bundle_dumps(bundle)


def test_a_workflow_bundle_holds_only_the_slots_it_uses(tenant):
    project, crm = crm_project(tenant)
    project_update(
        actor=tenant.actor(tenant.owner),
        project=project,
        config_slots=[
            *definition(crm)["config_slots"],
            {"external_id": "unused", "title": "Unused"},
        ],
    )
    workflow = project.workflows.get()

    bundle = workflow_bundle(actor=tenant.actor(tenant.owner), project=project, workflow=workflow)

    assert bundle["kind"] == "workflow"
    assert [s["external_id"] for s in bundle["config_slots"]] == ["region"]
    assert bundle == workflow_bundle(
        actor=tenant.actor(tenant.owner), project=project, workflow=workflow
    )


def test_only_who_sees_a_custom_services_definition_exports_it(tenant):
    project, crm = crm_project(tenant)

    with pytest.raises(NotAllowed, match=crm.name):
        exported(tenant, project, tenant.contributor)


def test_an_export_is_recorded_as_an_event(tenant):
    project, _ = crm_project(tenant)

    exported(tenant, project)

    event = AuthEvent.objects.get(kind=EventKind.BUNDLE_EXPORTED)
    assert event.organization == tenant.organization
    assert event.data["bundle_id"] == str(project.pk)


# --- ordinary import -----------------------------------------------------------------------------


def test_the_ordinary_import_refuses_a_missing_custom_service_naming_it(tenant, other_tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(bundle_dumps(exported(tenant, project)))
    actor, workspace = target(other_tenant)

    with pytest.raises(RuleViolation) as refused:
        bundle_import(actor=actor, workspace=workspace, bundle=bundle)

    assert refused.value.code == "custom_service_missing"
    assert f"'{crm.name}' ({crm.slug})" in refused.value.message
    assert "custom-service import" in refused.value.message
    assert not Project.objects.filter(organization=other_tenant.organization).exists()


def test_the_ordinary_import_uses_a_service_with_the_same_definition(tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(bundle_dumps(exported(tenant, project)))
    actor, workspace = target(tenant)
    bundle["id"] = str(uuid.uuid4())

    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle)

    assert result.created
    assert result.project.auth_slots.get().service == crm
    assert str(result.project.bundle_id) == bundle["id"]


def test_importing_the_same_bundle_again_updates_the_project_and_keeps_a_version(tenant):
    project, crm = crm_project(tenant)
    bundle = exported(tenant, project)
    actor, workspace = target(tenant)
    bundle["workflows"][0]["name"] = "Read contacts, v2"

    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle_parse(bundle))

    assert result.project == project and not result.created
    assert project.workflows.get().name == "Read contacts, v2"
    version = ProjectVersion.objects.get(project=project)
    assert version.definition["workflows"][0]["name"] == "Read contacts"

    project_rollback(actor=actor, project=project, number=version.number)

    assert project.workflows.get().name == "Read contacts"
    assert project.versions.count() == 2


def test_an_import_is_recorded_as_an_event(tenant):
    project, _ = crm_project(tenant)
    actor, workspace = target(tenant)

    bundle_import(actor=actor, workspace=workspace, bundle=bundle_parse(exported(tenant, project)))

    event = AuthEvent.objects.get(kind=EventKind.BUNDLE_IMPORTED)
    assert event.data["project_id"] == str(project.pk)
    assert event.data["action"] == "update"


# --- custom-service import -----------------------------------------------------------------------


def test_round_trip_into_another_organization_creating_the_service(tenant, other_tenant):
    project, crm = crm_project(tenant)
    text = bundle_dumps(exported(tenant, project))
    actor, workspace = target(other_tenant)
    bundle = bundle_parse(text)

    plan = bundle_plan(actor=actor, workspace=workspace, bundle=bundle)
    (service_plan,) = plan["services"]
    assert plan["ready"] is False and plan["missing"] == [crm.slug]
    assert service_plan["status"] == "missing" and service_plan["can_create"] is True
    assert service_plan["secrets_required"] == ["client_secret"]

    choices = {"services": {crm.slug: {"create": {"client_secret": "their-own-secret"}}}}
    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle, choices=choices)

    (created,) = result.services_created
    assert created.organization == other_tenant.organization
    assert created.owner == other_tenant.owner
    assert created.workspace.kind == WorkspaceKind.PERSONAL
    assert created.client_secret is not None
    again = bundle_dumps(exported(other_tenant, result.project))
    assert again == text


def test_the_custom_service_import_can_choose_an_existing_service(tenant, other_tenant):
    project, crm = crm_project(tenant)
    theirs = custom_service_create(
        actor=other_tenant.actor(other_tenant.owner),
        definition=oauth2_definition(name="Their CRM", base_url="https://api.acme-crm.example/v3"),
        client_secret="theirs",
    )
    bundle = bundle_parse(exported(tenant, project))
    actor, workspace = target(other_tenant)

    plan = bundle_plan(actor=actor, workspace=workspace, bundle=bundle)
    assert plan["services"][0]["candidates"][0]["id"] == str(theirs.pk)
    assert plan["services"][0]["candidates"][0]["match"] == "token_host"

    choices = {"services": {crm.slug: {"use": str(theirs.pk)}}}
    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle, choices=choices)

    assert result.project.auth_slots.get().service == theirs
    assert result.services_created == []


def test_a_second_import_remembers_the_mapping(tenant, other_tenant):
    project, crm = crm_project(tenant)
    actor, workspace = target(other_tenant)
    choices = {"services": {crm.slug: {"create": {"client_secret": "their-own-secret"}}}}
    first = bundle_import(
        actor=actor,
        workspace=workspace,
        bundle=bundle_parse(exported(tenant, project)),
        choices=choices,
    )
    project = project_update(
        actor=tenant.actor(tenant.owner), project=project, description="Newer."
    )

    newer = bundle_parse(exported(tenant, project))
    plan = bundle_plan(actor=actor, workspace=workspace, bundle=newer)
    second = bundle_import(actor=actor, workspace=workspace, bundle=newer)

    assert plan["ready"] and plan["services"][0]["status"] == "remembered"
    assert second.project == first.project and second.project.description == "Newer."
    assert second.project.auth_slots.get().service == first.services_created[0]
    assert BundleMapping.objects.filter(workspace=workspace).count() == 1


def test_static_slots_bind_matching_scopes_first_and_warn_on_other_scopes(tenant, other_tenant):
    crm = crm_service(tenant)
    source_auth = make_auth(tenant, crm, owner=tenant.owner, scopes=["contacts.read"])
    slot = {
        "external_id": "crm",
        "title": "CRM",
        "service": str(crm.pk),
        "scopes": ["contacts.read"],
        "static_authentication": str(source_auth.pk),
    }
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="Static",
        workspace=workspace_of(tenant),
        auth_slots=[slot],
    )
    bundle = bundle_parse(exported(tenant, project))
    theirs = crm_service(other_tenant)
    wider = make_auth(
        other_tenant,
        theirs,
        owner=other_tenant.owner,
        scopes=["contacts.read", "contacts.write"],
        name="Wider",
    )
    narrower = make_auth(other_tenant, theirs, owner=other_tenant.owner, scopes=[], name="None")
    actor, workspace = target(other_tenant)
    choices = {"services": {crm.slug: {"use": str(theirs.pk)}}}

    plan = bundle_plan(actor=actor, workspace=workspace, bundle=bundle, choices=choices)
    (slot_plan,) = plan["auth_slots"]
    assert [c["id"] for c in slot_plan["candidates"]] == [str(wider.pk), str(narrower.pk)]
    assert slot_plan["candidates"][0]["match"] == "other_scopes"
    assert "lacks the slot's scopes contacts.read" in slot_plan["candidates"][1]["warning"]
    assert any("beyond the slot's" in w for w in plan["warnings"])

    exact = make_auth(
        other_tenant, theirs, owner=other_tenant.owner, scopes=["contacts.read"], name="Exact"
    )
    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle, choices=choices)

    assert result.project.auth_slots.get().static_authentication == exact
    assert result.warnings == []

    with pytest.raises(RuleViolation, match="lacks the slot's scopes"):
        bundle_import(
            actor=actor,
            workspace=workspace,
            bundle=bundle,
            choices={**choices, "auths": {"crm": str(narrower.pk)}},
        )


def test_a_static_slot_of_a_service_created_now_is_imported_unbound_with_a_warning(
    tenant, other_tenant
):
    weather = token_service(tenant)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="Weather",
        workspace=workspace_of(tenant),
        auth_slots=[
            {
                "external_id": "weather",
                "title": "Weather",
                "service": str(weather.pk),
                "static_authentication": str(shared_auth(tenant, weather).pk),
            }
        ],
    )
    actor, workspace = target(other_tenant)

    result = bundle_import(
        actor=actor,
        workspace=workspace,
        bundle=bundle_parse(exported(tenant, project)),
        choices={"services": {weather.slug: {"create": {}}}},
    )

    assert result.project.auth_slots.get().static_authentication is None
    assert any("imported unbound" in w for w in result.warnings)


def test_creating_a_service_follows_the_edition_rules_on_the_embedded_edition(tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(exported(tenant, project))
    embedded = build_tenant(edition=Edition.EMBEDDED, name="Embedprod")
    workspace = workspace_of(embedded, WorkspaceKind.EMBEDDED)
    choices = {"services": {crm.slug: {"create": {"client_secret": "prod-secret"}}}}

    plan = bundle_plan(actor=embedded.actor(embedded.admin), workspace=workspace, bundle=bundle)
    assert plan["services"][0]["can_create"] is False
    assert "Only the organization owner" in plan["services"][0]["create_refused"]
    with pytest.raises(NotAllowed, match="Only the organization owner"):
        bundle_import(
            actor=embedded.actor(embedded.admin),
            workspace=workspace,
            bundle=bundle,
            choices=choices,
        )
    assert not Service.objects.filter(organization=embedded.organization).exists()

    result = bundle_import(
        actor=embedded.actor(embedded.owner), workspace=workspace, bundle=bundle, choices=choices
    )

    assert result.services_created[0].workspace == workspace


def test_creating_a_service_is_refused_where_the_platform_rules_forbid(tenant, other_tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(exported(tenant, project))
    actor = other_tenant.actor(other_tenant.viewer)

    with pytest.raises((RuleViolation, NotAllowed)):
        bundle_import(
            actor=actor,
            workspace=workspace_of(other_tenant),
            bundle=bundle,
            choices={"services": {crm.slug: {"create": {"client_secret": "x"}}}},
        )
    assert not Service.objects.filter(organization=other_tenant.organization).exists()


def test_a_failure_half_way_leaves_nothing_behind(tenant, other_tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(exported(tenant, project))
    bundle["auth_slots"][0]["scopes"] = ["contacts.read", "contacts.delete"]
    actor, workspace = target(other_tenant)
    events_before = AuthEvent.objects.count()

    with pytest.raises(RuleViolation, match=r"auth_slots\[0\]\.scopes"):
        bundle_import(
            actor=actor,
            workspace=workspace,
            bundle=bundle,
            choices={"services": {crm.slug: {"create": {"client_secret": "prod-secret"}}}},
        )

    assert not Service.objects.filter(organization=other_tenant.organization).exists()
    assert not Project.objects.filter(organization=other_tenant.organization).exists()
    assert not BundleMapping.objects.filter(organization=other_tenant.organization).exists()
    assert AuthEvent.objects.count() == events_before


# --- parsing -------------------------------------------------------------------------------------


@pytest.fixture
def good(tenant):
    project, _ = crm_project(tenant)
    return exported(tenant, project)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b["auth_slots"][0].update(colour="red"), "auth_slots[0].colour"),
        (lambda b: b.update(extra=1), "extra"),
        (
            lambda b: b["services"][0]["definition"].update(secret="x"),
            "services[0].definition.secret",
        ),
        (lambda b: b.update(version=2), "version"),
        (lambda b: b.update(format="zip"), "format"),
        (lambda b: b["auth_slots"][0].update(service="nope"), "auth_slots[0].service"),
        (lambda b: b["workflows"][0].pop("steps"), "workflows[0].steps"),
        (
            lambda b: b["services"][0]["definition"].update(token_url="http://10.0.0.1/token"),
            "services[0].definition.token_url",
        ),
        (
            lambda b: b["services"][0]["definition"].update(
                base_url="https://user:pw@api.example.com"
            ),
            "services[0].definition.base_url",
        ),
        # The database's own limits, named rather than failing there as a server error.
        (
            lambda b: b["services"][0]["definition"].update(default_token_lifetime=3_000_000_000),
            "services[0].definition.default_token_lifetime",
        ),
        (
            lambda b: b["services"][0]["definition"].update(name="n" * 201),
            "services[0].definition.name",
        ),
        (
            lambda b: b["services"][0]["definition"].update(slug="a b/c"),
            "services[0].definition.slug",
        ),
    ],
)
def test_a_bad_bundle_is_refused_naming_the_field(tenant, good, change, field):
    change(good)
    actor, workspace = target(tenant)

    with pytest.raises(RuleViolation) as refused:
        bundle_plan(actor=actor, workspace=workspace, bundle=bundle_parse(good))

    assert refused.value.field == field


def test_a_deep_or_large_bundle_is_refused_before_it_is_read():
    with pytest.raises(RuleViolation, match="nested deeper"):
        bundle_parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RuleViolation, match="nested deeper"):
        bundle_parse(
            {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
        )
    with pytest.raises(RuleViolation, match="at most"):
        bundle_parse(" " * 1_000_001)
    with pytest.raises(RuleViolation, match="not a JSON document"):
        bundle_parse('{"a": NaN}')


def test_several_services_with_the_same_definition_are_not_guessed_between(tenant, other_tenant):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(exported(tenant, project))
    first, second = crm_service(other_tenant), crm_service(other_tenant)
    actor, workspace = target(other_tenant)

    with pytest.raises(RuleViolation) as refused:
        bundle_import(actor=actor, workspace=workspace, bundle=bundle)

    assert "several of this organization's services share" in refused.value.message
    assert first.name in refused.value.message and second.name in refused.value.message


def test_a_remembered_service_whose_definition_the_bundle_changed_is_warned(tenant, other_tenant):
    project, crm = crm_project(tenant)
    actor, workspace = target(other_tenant)
    bundle_import(
        actor=actor,
        workspace=workspace,
        bundle=bundle_parse(exported(tenant, project)),
        choices={"services": {crm.slug: {"create": {"client_secret": "their-own-secret"}}}},
    )
    newer = exported(tenant, project)
    newer["services"][0]["definition"]["token_url"] = "https://auth.acme-crm.example/v2/token"

    result = bundle_import(actor=actor, workspace=workspace, bundle=bundle_parse(newer))

    assert any("differs from" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    "create, field",
    [
        ({"name": "n" * 201}, "name"),
        ({"slug": "a b/c"}, "slug"),
        ({"client_id": "c" * 501}, "client_id"),
    ],
)
def test_a_created_services_own_values_are_held_to_the_databases_limits(
    tenant, other_tenant, create, field
):
    project, crm = crm_project(tenant)
    bundle = bundle_parse(bundle_dumps(exported(tenant, project)))
    actor, workspace = target(other_tenant)
    choices = {"services": {crm.slug: {"create": {"client_secret": "their-secret", **create}}}}

    with pytest.raises(RuleViolation) as refused:
        bundle_import(actor=actor, workspace=workspace, bundle=bundle, choices=choices)

    assert refused.value.field.endswith(field)
    assert not Service.objects.filter(organization=other_tenant.organization).exists()
