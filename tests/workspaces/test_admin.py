"""The admin for org owners: their organization only; another organization's objects are
invisible (404 on their URLs, absent from lists and dropdowns). A superuser sees everything."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.lifecycle.factories import make_auth
from workspaces.models import Invitation, Membership, OrgRole, Workspace, WorkspaceKind
from workspaces.shared_workspaces import workspace_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_org_owner_who_is_not_staff_can_log_into_admin(owner_client, tenant):
    assert not tenant.owner.is_staff
    assert owner_client.get(reverse("admin:index")).status_code == 200


def test_contributor_cannot_use_admin(client, tenant):
    client.force_login(tenant.contributor)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_owner_sees_only_their_members_and_workspaces(owner_client, tenant, other_tenant):
    members = owner_client.get(reverse("admin:workspaces_membership_changelist")).content.decode()
    assert tenant.contributor.email in members
    assert other_tenant.contributor.email not in members
    workspaces = owner_client.get(reverse("admin:workspaces_workspace_changelist")).content.decode()
    assert "Othercorp" not in workspaces


@pytest.mark.parametrize(
    "url_name", ["admin:workspaces_membership_change", "admin:workspaces_membership_history"]
)
def test_other_organizations_member_pages_are_invisible(owner_client, other_tenant, url_name):
    foreign = other_tenant.membership(other_tenant.contributor)
    response = owner_client.get(reverse(url_name, args=[foreign.pk]))
    assert response.status_code in (302, 404)
    assert other_tenant.contributor.email not in response.content.decode()


def test_other_organizations_workspace_cannot_be_deleted(owner_client, other_tenant):
    foreign = Workspace.objects.get(
        organization=other_tenant.organization, kind=WorkspaceKind.ORGANIZATION
    )
    owner_client.post(
        reverse("admin:workspaces_workspace_delete", args=[foreign.pk]), {"post": "yes"}
    )
    assert Workspace.objects.filter(pk=foreign.pk).exists()


# Members join by invitation: the admin adds invitations (emailed), not memberships.


def test_invite_member_form_offers_only_own_organization(owner_client, tenant, other_tenant):
    page = owner_client.get(reverse("admin:workspaces_invitation_add")).content.decode()
    assert tenant.organization.name in page
    assert other_tenant.organization.name not in page


def test_memberships_are_not_added_by_hand(owner_client):
    assert owner_client.get(reverse("admin:workspaces_membership_add")).status_code == 403


def test_invite_member_through_admin_emails_the_link(owner_client, tenant, mailoutbox):
    response = owner_client.post(
        reverse("admin:workspaces_invitation_add"),
        {"organization": tenant.organization.pk, "email": "adm@example.com", "role": "viewer"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="adm@example.com")
    assert invitation.role == "viewer" and invitation.invited_by == tenant.owner
    assert mailoutbox[0].to == ["adm@example.com"]
    assert "http://testserver/account/invitations/" in mailoutbox[0].body
    # A member from the moment they accept, not before.
    assert not Membership.objects.filter(user__email="adm@example.com").exists()


def test_admin_form_shows_rule_violation_and_saves_nothing(owner_client, tenant, mailoutbox):
    response = owner_client.post(
        reverse("admin:workspaces_invitation_add"),
        {"organization": tenant.organization.pk, "email": "x@example.com", "role": "owner"},
    )
    assert response.status_code == 200
    assert "ownership transfer" in response.content.decode()
    assert not Invitation.objects.filter(email="x@example.com").exists()
    assert mailoutbox == []


def test_admin_cannot_create_a_second_organization_workspace(owner_client, tenant):
    # The add form creates shared workspaces only: there is no kind to choose.
    owner_client.post(
        reverse("admin:workspaces_workspace_add"),
        {"organization": tenant.organization.pk, "name": "Extra", "kind": "organization"},
    )
    assert (
        Workspace.objects.filter(
            organization=tenant.organization, kind=WorkspaceKind.ORGANIZATION
        ).count()
        == 1
    )
    assert Workspace.objects.get(name="Extra").kind == WorkspaceKind.SHARED


def test_transfer_ownership_action(owner_client, tenant):
    target = tenant.membership(tenant.admin)
    owner_client.post(
        reverse("admin:workspaces_membership_changelist"),
        {"action": "make_owner", "_selected_action": [target.pk]},
    )
    assert Membership.objects.get(pk=target.pk).role == OrgRole.OWNER


def test_superuser_sees_every_organization(client, tenant, other_tenant):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    page = client.get(reverse("admin:workspaces_membership_changelist")).content.decode()
    assert tenant.contributor.email in page and other_tenant.contributor.email in page


def test_org_owner_logs_in_through_the_admin_login_form(client, tenant):
    response = client.post(
        reverse("admin:login"),
        {"username": tenant.owner.email, "password": "pw-for-tests-123", "next": "/admin/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_contributor_cannot_log_in_through_the_admin_login_form(client, tenant):
    response = client.post(
        reverse("admin:login"),
        {"username": tenant.contributor.email, "password": "pw-for-tests-123", "next": "/admin/"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "organization owners" in page
    # ... and where members sign in instead, as a link.
    assert f'href="{reverse("account:sign-in")}"' in page


@pytest.fixture
def full_workspace(tenant):
    workspace = workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    make_auth(tenant, workspace=workspace, name="Team CRM")
    return workspace


def test_deleting_a_workspace_that_holds_authentications_is_refused_in_the_admin(
    owner_client, full_workspace
):
    url = reverse("admin:workspaces_workspace_delete", args=[full_workspace.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    refused = owner_client.post(url, {"post": "yes"}, follow=True)
    assert refused.status_code == 200
    assert Workspace.objects.filter(pk=full_workspace.pk).exists()
    assert "Team CRM" in refused.content.decode()


def test_bulk_deleting_a_workspace_that_holds_authentications_is_refused_in_the_admin(
    owner_client, full_workspace
):
    response = owner_client.post(
        reverse("admin:workspaces_workspace_changelist"),
        {"action": "delete_selected", "_selected_action": [full_workspace.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert Workspace.objects.filter(pk=full_workspace.pk).exists()
