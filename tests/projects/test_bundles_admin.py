"""Bundles in the admin: an org owner downloads a project's bundle, and imports one through a plan
screen that shows each decision before anything is written; another organization's owner gets 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from embedded.models import Solution
from embedded.solution_bundles import solution_bundle
from embedded.solutions import solution_create, solution_publish
from projects.bundles import bundle_dumps, project_bundle
from projects.models import Project
from projects.projects import project_create
from services.custom_services import custom_service_create
from services.models import Service
from tests.conftest import build_tenant
from tests.embedded.builders import embedded_workspace
from tests.projects.builders import crm_service, definition, workspace_of
from tests.services.builders import token_definition
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


def crm_project(tenant):
    crm = crm_service(tenant)
    project = project_create(
        actor=tenant.actor(tenant.owner),
        name="CRM sync",
        workspace=workspace_of(tenant),
        **definition(crm),
    )
    return project, crm


def test_an_owner_downloads_the_bundle_and_another_owner_gets_404(client, tenant, other_tenant):
    project, _ = crm_project(tenant)
    address = reverse("admin:projects_project_bundle", args=[project.pk])

    client.force_login(tenant.owner)
    response = client.get(address)
    change = client.get(reverse("admin:projects_project_change", args=[project.pk]))
    client.force_login(other_tenant.owner)
    foreign = client.get(address)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="crm-sync.bundle.json"'
    expected = project_bundle(actor=tenant.actor(tenant.owner), project=project)
    assert response.content.decode() == bundle_dumps(expected)
    assert address in change.content.decode()
    assert foreign.status_code == 404


def test_the_import_plans_then_creates_the_service_with_its_secret(client, tenant, other_tenant):
    project, crm = crm_project(tenant)
    text = bundle_dumps(project_bundle(actor=tenant.actor(tenant.owner), project=project))
    address = reverse("admin:projects_project_import")
    client.force_login(other_tenant.owner)
    organization = str(other_tenant.organization.pk)

    form = client.get(address)
    plan = client.post(
        address,
        {
            "organization": organization,
            "action": "plan",
            "bundle_file": SimpleUploadedFile("b.json", text.encode()),
        },
    )
    ordinary = client.post(
        address, {"organization": organization, "action": "import", "bundle_text": text}
    )
    imported = client.post(
        address,
        {
            "organization": organization,
            "action": "import",
            "bundle_text": text,
            f"service__{crm.slug}": "create",
            f"secret__{crm.slug}": "prod-client-secret",
        },
    )

    assert form.status_code == 200 and "Bundle file" in form.content.decode()
    page = plan.content.decode()
    assert "Create it from the bundle" in page and crm.name in page
    assert "not in this organization" in page
    assert "cannot see" in ordinary.content.decode()
    assert imported.status_code == 302
    service = Service.objects.get(organization=other_tenant.organization)
    assert service.client_secret is not None
    project = Project.objects.get(organization=other_tenant.organization)
    assert imported["Location"] == reverse("admin:projects_project_change", args=[project.pk])
    assert "prod-client-secret" not in page


def test_a_bad_upload_is_refused_on_the_page(client, tenant):
    client.force_login(tenant.owner)

    response = client.post(
        reverse("admin:projects_project_import"),
        {
            "organization": str(tenant.organization.pk),
            "action": "plan",
            "bundle_file": SimpleUploadedFile("b.json", b'{"format": "zip"}'),
        },
    )

    assert response.status_code == 200
    assert "format: not a bundle" in response.content.decode()


@pytest.mark.parametrize("field", ["organization", "workspace"])
def test_an_id_that_is_not_one_is_an_error_on_the_page_not_a_server_error(client, tenant, field):
    client.force_login(tenant.owner)
    values = {"organization": str(tenant.organization.pk), "action": "plan", "bundle_text": "{}"}

    response = client.post(reverse("admin:projects_project_import"), {**values, field: "x"})

    assert response.status_code == 200


def test_a_member_who_owns_no_organization_cannot_import(client, tenant):
    client.force_login(tenant.admin)

    response = client.get(reverse("admin:projects_project_import"))

    assert response.status_code == 302  # to the admin's login: the admin is for owners


def test_a_solution_bundle_imported_in_the_admin_is_published_in_the_embedded_workspace(client):
    dev = build_tenant(edition=Edition.EMBEDDED, name="Admindev")
    prod = build_tenant(edition=Edition.EMBEDDED, name="Adminprod")
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
    text = bundle_dumps(solution_bundle(actor=owner, solution=solution))
    client.force_login(prod.owner)

    response = client.post(
        reverse("admin:projects_project_import"),
        {
            "organization": str(prod.organization.pk),
            "action": "import",
            "bundle_text": text,
            f"service__{service.slug}": "create",
        },
        follow=True,
    )

    imported = Solution.objects.get(organization=prod.organization)
    assert imported.releases.get().number == 1
    assert "solution release 1 published" in response.content.decode()
