"""The bundles API: export as JSON, plan and import (ordinary and custom-service), versions and
rollback, a solution's release; and a fuzzed bundle never makes a server error nor leaves rows."""

import copy
import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded.solutions import solution_create, solution_publish
from infrastructure.errors import RuleViolation
from projects.bundle_import import bundle_parse
from projects.bundles import project_bundle
from projects.models import BundleMapping, Project, ProjectVersion
from projects.projects import project_create
from services.custom_services import custom_service_create
from services.models import Service
from tests.conftest import build_tenant
from tests.embedded.builders import embedded_workspace
from tests.projects.builders import crm_service, definition, workspace_of
from tests.services.builders import token_definition
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


def org(tenant):
    return {"organization_slug": tenant.organization.slug}


def crm_project(tenant):
    crm = crm_service(tenant)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="CRM sync",
        workspace=workspace_of(tenant),
        **definition(crm),
    )
    return project, crm


def test_a_project_exports_as_the_same_json_every_time(api, tenant):
    project, crm = crm_project(tenant)
    client = api.as_user(tenant.owner)
    address = reverse("project-bundle", kwargs={**org(tenant), "pk": project.pk})

    first, second = client.get(address), client.get(address)

    assert first.status_code == 200
    assert first.content == second.content
    assert first.json()["services"][0]["key"] == crm.slug
    assert b"s3cret-client-value" not in first.content


def test_a_contributor_cannot_export_someone_elses_custom_service_definition(api, tenant):
    project, crm = crm_project(tenant)
    address = reverse("project-bundle", kwargs={**org(tenant), "pk": project.pk})

    response = api.as_user(tenant.contributor).get(address)

    assert response.status_code == 403
    assert crm.name in response.json()["error"]["message"]


def test_one_workflow_exports_by_its_position(api, tenant):
    project, _ = crm_project(tenant)
    client = api.as_user(tenant.owner)

    found = client.get(
        reverse("project-workflow-bundle", kwargs={**org(tenant), "pk": project.pk, "index": 0})
    )
    missing = client.get(
        reverse("project-workflow-bundle", kwargs={**org(tenant), "pk": project.pk, "index": 5})
    )

    assert found.status_code == 200 and found.json()["kind"] == "workflow"
    assert missing.status_code == 404


def test_the_ordinary_import_is_refused_then_the_custom_service_import_resolves_it(
    api, tenant, other_tenant
):
    project, crm = crm_project(tenant)
    bundle = project_bundle(actor=tenant.actor(tenant.owner), project=project)
    client = api.as_user(other_tenant.owner)
    body = {"bundle": bundle, "workspace": str(workspace_of(other_tenant).pk)}

    refused = client.post(reverse("bundle-import", kwargs=org(other_tenant)), body, format="json")
    plan = client.post(reverse("bundle-plan", kwargs=org(other_tenant)), body, format="json")
    choices = {"services": {crm.slug: {"create": {"client_secret": "prod-secret-value"}}}}
    imported = client.post(
        reverse("bundle-import", kwargs=org(other_tenant)),
        {**body, "choices": choices},
        format="json",
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "custom_service_missing"
    assert crm.name in refused.json()["error"]["message"]
    assert plan.status_code == 200 and plan.json()["missing"] == [crm.slug]
    assert imported.status_code == 201, imported.content
    result = imported.json()
    assert result["created"] is True
    assert result["services_created"][0]["slug"] == crm.slug
    assert b"prod-secret-value" not in imported.content
    assert result["project"]["auth_slots"][0]["service"] == result["services_created"][0]["id"]


def test_a_reimport_keeps_a_version_that_rollback_restores(api, tenant):
    project, _ = crm_project(tenant)
    bundle = project_bundle(actor=tenant.actor(tenant.owner), project=project)
    bundle["workflows"][0]["name"] = "Renamed by the bundle"
    client = api.as_user(tenant.owner)

    imported = client.post(
        reverse("bundle-import", kwargs=org(tenant)),
        {"bundle": bundle, "workspace": str(workspace_of(tenant).pk)},
        format="json",
    )
    versions = client.get(reverse("project-versions", kwargs={**org(tenant), "pk": project.pk}))
    rolled_back = client.post(
        reverse("project-rollback", kwargs={**org(tenant), "pk": project.pk}),
        {"version": 1},
        format="json",
    )

    assert imported.status_code == 201 and imported.json()["version_kept"] == 1
    assert [v["number"] for v in versions.json()] == [1]
    assert rolled_back.status_code == 200
    assert rolled_back.json()["workflows"][0]["name"] == "Read contacts"


def test_a_solution_release_exports_and_imports_through_the_api(api):
    dev = build_tenant(edition=Edition.EMBEDDED, name="Devco")
    prod = build_tenant(edition=Edition.EMBEDDED, name="Prodco")
    owner = dev.actor(dev.owner)
    service = custom_service_create(actor=owner, definition=token_definition(name="Contacts"))
    project = project_create(
        actor=owner,
        name="Contacts",
        workspace=embedded_workspace(dev),
        auth_slots=[{"external_id": "contacts", "title": "Contacts", "service": str(service.pk)}],
    )
    solution = solution_create(actor=owner, project=project)
    solution_publish(actor=owner, solution=solution)

    exported = api.as_user(dev.owner).get(
        reverse("solution-bundle", kwargs={**org(dev), "pk": solution.pk}), {"release": "1"}
    )
    assert exported.status_code == 200 and exported.json()["solution"]["release"] == 1
    imported = api.as_user(prod.owner).post(
        reverse("bundle-import", kwargs=org(prod)),
        {"bundle": exported.json(), "choices": {"services": {service.slug: {"create": {}}}}},
        format="json",
    )

    assert imported.status_code == 201, imported.content
    assert imported.json()["release"] == 1
    assert imported.json()["solution"]


# --- fuzzing -------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _set(document, path, value):
    if not path:
        return value
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.fixture
def fuzz_world():
    """Made once for all examples (hypothesis runs them in the one test's transaction)."""
    source = build_tenant(name="Fuzz source")
    target = build_tenant(name="Fuzz target")
    project, crm = crm_project(source)
    bundle = project_bundle(actor=source.actor(source.owner), project=project)
    return source, target, bundle, crm


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_fuzzed_bundle_never_makes_a_server_error_nor_leaves_rows(api, fuzz_world, data):
    _, target, bundle, crm = fuzz_world
    document = copy.deepcopy(bundle)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(document))
        path = data.draw(st.sampled_from(paths))
        document = _set(document, path, data.draw(JSON))
    create = data.draw(st.booleans())
    choices = {"services": {crm.slug: {"create": {"client_secret": "x"}}}} if create else None
    before = (
        Project.objects.count(),
        Service.objects.count(),
        BundleMapping.objects.count(),
        ProjectVersion.objects.count(),
    )

    response = api.as_user(target.owner).post(
        reverse("bundle-import", kwargs=org(target)),
        json.dumps({"bundle": document, "choices": choices}),
        content_type="application/json",
    )

    assert response.status_code < 500, response.content
    if response.status_code != 201:
        assert (
            Project.objects.count(),
            Service.objects.count(),
            BundleMapping.objects.count(),
            ProjectVersion.objects.count(),
        ) == before
    else:
        bundle_parse(document)  # what was imported was a valid bundle
        Project.objects.filter(organization=target.organization).delete()
        Service.objects.filter(organization=target.organization).delete()
        BundleMapping.objects.filter(organization=target.organization).delete()


@settings(max_examples=150, deadline=None, derandomize=True)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(bytes))
def test_the_parser_refuses_any_junk_with_a_rule_violation(text):
    try:
        bundle_parse(text)
    except RuleViolation as error:
        assert error.field
    else:  # pragma: no cover - junk is never a bundle
        raise AssertionError("junk parsed as a bundle")
