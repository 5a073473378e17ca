"""No delete in the admin answers 500. Deleting goes through the domain function, so the admin
asks the domain's check before its confirmation page: a refusal shows there, like a protected
row, for one object and for the bulk action. A superuser is not a member of the organizations
they look after, so the domain refuses them (deleting is the members' job): that used to raise
out of delete_model."""

import pytest
from django.urls import reverse

from auths.models import Authentication
from projects.models import Project
from projects.projects import project_create
from services.models import Service
from tests.factories import UserFactory
from tests.lifecycle.factories import make_auth
from tests.projects.builders import workspace_of
from tests.services.builders import make_custom_service
from workspaces.models import Workspace, WorkspaceMembership
from workspaces.shared_workspaces import workspace_create, workspace_member_add

pytestmark = pytest.mark.django_db


def shared_workspace(tenant):
    return workspace_create(actor=tenant.actor(tenant.owner), name="Team")


def workspace_member(tenant):
    return workspace_member_add(
        actor=tenant.actor(tenant.owner),
        workspace=shared_workspace(tenant),
        membership=tenant.membership(tenant.contributor),
    )


DELETABLE = {
    "workspaces_workspace": (Workspace, shared_workspace),
    "workspaces_workspacemembership": (WorkspaceMembership, workspace_member),
    "auths_authentication": (Authentication, lambda t: make_auth(t, name="Team CRM")),
    "services_service": (Service, lambda t: make_custom_service(t, name="Team API")),
    "projects_project": (
        Project,
        lambda t: project_create(actor=t.actor(t.owner), workspace=workspace_of(t), name="Sync"),
    ),
}


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


@pytest.mark.parametrize("admin_name", sorted(DELETABLE))
def test_a_delete_the_domain_refuses_is_shown_on_the_confirmation_page(
    admin_name, tenant, superuser_client
):
    model, make = DELETABLE[admin_name]
    obj = make(tenant)
    url = reverse(f"admin:{admin_name}_delete", args=[obj.pk])

    page = superuser_client.get(url)
    confirmed = superuser_client.post(url, {"post": "yes"}, follow=True)

    assert page.status_code == 200 and confirmed.status_code == 200
    assert "Organization not found" in confirmed.content.decode()
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("admin_name", sorted(DELETABLE))
def test_a_bulk_delete_the_domain_refuses_is_shown_on_the_confirmation_page(
    admin_name, tenant, superuser_client
):
    model, make = DELETABLE[admin_name]
    obj = make(tenant)

    response = superuser_client.post(
        reverse(f"admin:{admin_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Organization not found" in response.content.decode()
    assert model.objects.filter(pk=obj.pk).exists()


def test_the_owner_still_deletes_through_the_admin(client, tenant):
    client.force_login(tenant.owner)
    workspace = shared_workspace(tenant)
    url = reverse("admin:workspaces_workspace_delete", args=[workspace.pk])
    response = client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
