"""Dev → prod promotion of a solution between two embedded organizations: the release exported,
the custom service created once in prod, the mapping remembered, instances following a new
release (needs_upgrade when it asks the end user for something new)."""

import pytest
from django.urls import reverse

from embedded.instances import instance_create
from embedded.models import Solution
from embedded.solution_bundles import (
    solution_bundle,
    solution_bundle_import,
    solution_bundle_plan,
)
from embedded.solutions import solution_create, solution_publish, solution_update
from infrastructure.errors import NotAllowed, RuleViolation
from projects.bundle_import import bundle_parse
from projects.bundles import bundle_dumps
from projects.projects import project_create, project_update
from services.custom_services import custom_service_create
from tests.conftest import build_tenant
from tests.embedded.builders import embedded_workspace, make_end_user
from tests.services.builders import token_definition
from workspaces.models import Edition

pytestmark = pytest.mark.django_db

REGION = {
    "external_id": "region",
    "title": "Region",
    "type": "select",
    "choices": ["eu", "us"],
    "required": True,
}
TIER = {"external_id": "tier", "title": "Tier", "type": "string", "required": True}


@pytest.fixture
def dev():
    tenant = build_tenant(edition=Edition.EMBEDDED, name="Dev")
    owner = tenant.actor(tenant.owner)
    service = custom_service_create(actor=owner, definition=token_definition(name="Contacts API"))
    project = project_create(
        actor=owner,
        name="Contacts sync",
        workspace=embedded_workspace(tenant),
        auth_slots=[{"external_id": "contacts", "title": "Contacts", "service": str(service.pk)}],
        config_slots=[REGION],
        workflows=[
            {
                "name": "List",
                "steps": [
                    {
                        "name": "List contacts",
                        "auth_slot": "contacts",
                        "request": {"method": "GET", "path": "/contacts/{{config.region}}"},
                    }
                ],
            }
        ],
    )
    solution = solution_create(actor=owner, project=project, name="Contacts for you")
    solution_update(
        actor=owner,
        solution=solution,
        layout={"screens": [{"title": "Connect", "slots": ["contacts", "region"]}]},
    )
    solution_publish(actor=owner, solution=solution)
    return tenant, solution, service


@pytest.fixture
def prod():
    return build_tenant(edition=Edition.EMBEDDED, name="Prod")


def test_a_solution_is_promoted_to_another_embedded_organization(dev, prod):
    tenant, solution, service = dev
    text = bundle_dumps(solution_bundle(actor=tenant.actor(tenant.owner), solution=solution))
    bundle = bundle_parse(text)
    owner = prod.actor(prod.owner)

    with pytest.raises(RuleViolation, match="Contacts API"):
        solution_bundle_import(actor=owner, bundle=bundle)
    plan = solution_bundle_plan(actor=owner, bundle=bundle)
    assert plan["missing"] == [service.slug] and plan["solution"]["action"] == "create"

    result = solution_bundle_import(
        actor=owner, bundle=bundle, choices={"services": {service.slug: {"create": {}}}}
    )

    assert result.solution_created and result.release.number == 1
    assert result.release.snapshot["screens"] == [
        {"title": "Connect", "slots": ["contacts", "region"]}
    ]
    again = bundle_dumps(solution_bundle(actor=owner, solution=result.solution))
    assert again == text


def test_a_new_release_needing_end_user_input_marks_prod_instances(dev, prod):
    tenant, solution, service = dev
    dev_owner, owner = tenant.actor(tenant.owner), prod.actor(prod.owner)
    first = solution_bundle_import(
        actor=owner,
        bundle=bundle_parse(solution_bundle(actor=dev_owner, solution=solution)),
        choices={"services": {service.slug: {"create": {}}}},
    )
    instance = instance_create(
        actor=owner,
        solution=first.solution,
        end_user=make_end_user(prod),
        config_values={"region": "eu"},
    )
    project_update(actor=dev_owner, project=solution.project, config_slots=[REGION, TIER])
    solution_update(
        actor=dev_owner,
        solution=solution,
        layout={"screens": [{"title": "Connect", "slots": ["contacts", "region", "tier"]}]},
    )
    solution_publish(actor=dev_owner, solution=solution)

    newer = bundle_parse(solution_bundle(actor=dev_owner, solution=solution))
    assert solution_bundle_plan(actor=owner, bundle=newer)["ready"]
    second = solution_bundle_import(actor=owner, bundle=newer)

    assert second.solution == first.solution and not second.solution_created
    assert second.release.number == 2
    assert second.instances == {"upgraded": 0, "needs_upgrade": 1}
    instance.refresh_from_db()
    assert instance.needs_upgrade
    assert Solution.objects.filter(organization=prod.organization).count() == 1


def test_importing_the_same_release_again_publishes_nothing(dev, prod):
    tenant, solution, service = dev
    bundle = bundle_parse(solution_bundle(actor=tenant.actor(tenant.owner), solution=solution))
    owner = prod.actor(prod.owner)
    choices = {"services": {service.slug: {"create": {}}}}
    solution_bundle_import(actor=owner, bundle=bundle, choices=choices)

    again = solution_bundle_import(actor=owner, bundle=bundle)

    assert again.release is None


def test_an_admin_cannot_create_the_custom_service_in_the_embedded_workspace(dev, prod):
    tenant, solution, service = dev
    bundle = bundle_parse(solution_bundle(actor=tenant.actor(tenant.owner), solution=solution))

    with pytest.raises(NotAllowed, match="Only the organization owner"):
        solution_bundle_import(
            actor=prod.actor(prod.admin),
            bundle=bundle,
            choices={"services": {service.slug: {"create": {}}}},
        )
    assert not Solution.objects.filter(organization=prod.organization).exists()


def test_a_contributor_cannot_import_solutions(dev, prod):
    tenant, solution, _ = dev
    bundle = bundle_parse(solution_bundle(actor=tenant.actor(tenant.owner), solution=solution))

    with pytest.raises(NotAllowed):
        solution_bundle_import(actor=prod.actor(prod.contributor), bundle=bundle)


def test_a_project_bundle_is_not_imported_as_a_solution(dev, prod):
    tenant, solution, _ = dev
    bundle = bundle_parse(solution_bundle(actor=tenant.actor(tenant.owner), solution=solution))
    bundle["kind"] = "project"
    bundle.pop("solution")

    with pytest.raises(RuleViolation, match="project bundle"):
        solution_bundle_import(actor=prod.actor(prod.owner), bundle=bundle)


def test_an_owner_downloads_the_latest_release_from_the_admin(client, dev, prod):
    tenant, solution, _ = dev
    address = reverse("admin:embedded_solution_bundle", args=[solution.pk])

    client.force_login(tenant.owner)
    response = client.get(address)
    page = client.get(reverse("admin:embedded_solution_change", args=[solution.pk]))
    client.force_login(prod.owner)
    foreign = client.get(address)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="contacts-for-you.bundle.json"'
    assert response.content.decode() == bundle_dumps(
        solution_bundle(actor=tenant.actor(tenant.owner), solution=solution)
    )
    assert address in page.content.decode()
    assert foreign.status_code == 404
