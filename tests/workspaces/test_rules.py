"""The tenancy invariants, through the domain functions and, where a function could be bypassed,
straight at the database."""

import pytest
from django.db import IntegrityError, transaction

from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from tests.factories import UserFactory, make_organization
from workspaces import invitations, members, organizations, shared_workspaces
from workspaces.access import require_asset_creation, workspace_role
from workspaces.models import (
    Edition,
    Membership,
    OrgRole,
    Workspace,
    WorkspaceKind,
    WorkspaceRole,
)

pytestmark = pytest.mark.django_db


def workspaces_of(organization, kind):
    return Workspace.objects.filter(organization=organization, kind=kind)


def test_new_organization_has_owner_organization_workspace_and_owner_personal_workspace():
    owner = UserFactory()
    organization = make_organization(owner=owner)
    assert Membership.objects.get(organization=organization, role=OrgRole.OWNER).user == owner
    assert workspaces_of(organization, WorkspaceKind.ORGANIZATION).count() == 1
    personal = workspaces_of(organization, WorkspaceKind.PERSONAL).get()
    assert personal.personal_owner.user == owner
    assert not workspaces_of(organization, WorkspaceKind.EMBEDDED).exists()


def test_embedded_edition_gets_exactly_one_embedded_workspace():
    organization = make_organization(edition=Edition.EMBEDDED)
    assert workspaces_of(organization, WorkspaceKind.EMBEDDED).count() == 1


def test_adding_embedded_edition_later_creates_the_embedded_workspace(tenant):
    organizations.organization_update(
        actor=tenant.actor(tenant.owner), organization=tenant.organization, edition=Edition.BOTH
    )
    assert workspaces_of(tenant.organization, WorkspaceKind.EMBEDDED).count() == 1


def test_editions_cannot_be_removed(embedded_tenant):
    with pytest.raises(RuleViolation) as error:
        organizations.organization_update(
            actor=embedded_tenant.actor(embedded_tenant.owner),
            organization=embedded_tenant.organization,
            edition=Edition.PLATFORM,
        )
    assert error.value.field == "edition"


def test_every_member_gets_a_personal_workspace(tenant):
    for user in (tenant.admin, tenant.contributor, tenant.viewer):
        assert Workspace.objects.get(personal_owner__user=user, organization=tenant.organization)


def test_database_refuses_a_second_owner(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=tenant.membership(tenant.admin).pk).update(role=OrgRole.OWNER)


BASE_URL = "http://testserver"


def test_domain_refuses_inviting_a_second_owner(tenant):
    with pytest.raises(RuleViolation) as error:
        invitations.member_invite(
            actor=tenant.actor(tenant.owner),
            email="new@example.com",
            role=OrgRole.OWNER,
            base_url=BASE_URL,
        )
    assert "transfer" in error.value.message


def test_database_refuses_a_second_organization_workspace(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(
            organization=tenant.organization, kind=WorkspaceKind.ORGANIZATION, name="x"
        )


def test_database_refuses_a_second_embedded_workspace(embedded_tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(
            organization=embedded_tenant.organization, kind=WorkspaceKind.EMBEDDED, name="x"
        )


def test_database_refuses_a_personal_workspace_without_a_member(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(
            organization=tenant.organization, kind=WorkspaceKind.PERSONAL, name="x"
        )


def test_database_refuses_a_second_personal_workspace_for_one_member(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(
            organization=tenant.organization,
            kind=WorkspaceKind.PERSONAL,
            name="x",
            personal_owner=tenant.membership(tenant.contributor),
        )


def test_people_can_create_only_shared_workspaces(tenant):
    for kind in (WorkspaceKind.ORGANIZATION, WorkspaceKind.PERSONAL, WorkspaceKind.EMBEDDED):
        with pytest.raises(RuleViolation) as error:
            shared_workspaces.workspace_create(
                actor=tenant.actor(tenant.owner), name="x", kind=kind
            )
        assert error.value.field == "kind"


def test_ownership_transfer_makes_the_old_owner_an_admin(tenant):
    new_owner = tenant.membership(tenant.contributor)
    organizations.ownership_transfer(
        actor=tenant.actor(tenant.owner), organization=tenant.organization, new_owner=new_owner
    )
    assert tenant.membership(tenant.contributor).role == OrgRole.OWNER
    assert tenant.membership(tenant.owner).role == OrgRole.ADMIN
    assert (
        Membership.objects.filter(organization=tenant.organization, role=OrgRole.OWNER).count() == 1
    )


def test_only_the_owner_transfers_ownership(tenant):
    with pytest.raises(NotAllowed):
        organizations.ownership_transfer(
            actor=tenant.actor(tenant.admin),
            organization=tenant.organization,
            new_owner=tenant.membership(tenant.admin),
        )


def test_ownership_cannot_go_to_an_inactive_member(tenant):
    members.member_deactivate(
        actor=tenant.actor(tenant.owner), membership=tenant.membership(tenant.viewer)
    )
    with pytest.raises(RuleViolation):
        organizations.ownership_transfer(
            actor=tenant.actor(tenant.owner),
            organization=tenant.organization,
            new_owner=tenant.membership(tenant.viewer),
        )


def test_contributor_cannot_invite_or_change_members(tenant):
    actor = tenant.actor(tenant.contributor)
    with pytest.raises(NotAllowed):
        invitations.member_invite(actor=actor, email="x@example.com", base_url=BASE_URL)
    with pytest.raises(NotAllowed):
        members.member_change_role(
            actor=actor, membership=tenant.membership(tenant.viewer), role=OrgRole.CONTRIBUTOR
        )


def test_admin_cannot_grant_admin_or_touch_another_admin(tenant):
    actor = tenant.actor(tenant.admin)
    with pytest.raises(NotAllowed):
        members.member_change_role(
            actor=actor, membership=tenant.membership(tenant.viewer), role=OrgRole.ADMIN
        )
    second_admin = members.membership_create(
        organization=tenant.organization, user=UserFactory(), role=OrgRole.ADMIN
    )
    with pytest.raises(NotAllowed):
        members.member_deactivate(actor=actor, membership=second_admin)


def test_owner_cannot_be_deactivated_or_demoted(tenant):
    owner_membership = tenant.membership(tenant.owner)
    with pytest.raises(RuleViolation):
        members.member_deactivate(actor=tenant.actor(tenant.owner), membership=owner_membership)
    with pytest.raises(RuleViolation):
        members.member_change_role(
            actor=tenant.actor(tenant.owner), membership=owner_membership, role=OrgRole.ADMIN
        )


def test_deactivation_keeps_the_personal_workspace_and_removes_access(tenant):
    membership = tenant.membership(tenant.contributor)
    members.member_deactivate(actor=tenant.actor(tenant.owner), membership=membership)
    membership.refresh_from_db()
    assert membership.is_active is False
    assert Workspace.objects.filter(personal_owner=membership).exists()
    with pytest.raises(NotFound):
        tenant.actor(tenant.contributor)


def test_deactivated_member_is_invited_back_and_accepting_reactivates_them(tenant, mailoutbox):
    membership = tenant.membership(tenant.viewer)
    members.member_deactivate(actor=tenant.actor(tenant.owner), membership=membership)
    invitations.member_invite(
        actor=tenant.actor(tenant.owner), email=tenant.viewer.email, base_url=BASE_URL
    )
    token = mailoutbox[-1].body.split("/account/invitations/")[1].split("/")[0]
    again = invitations.invitation_accept(token=token, user=tenant.viewer)
    assert again.pk == membership.pk and again.is_active and again.role == OrgRole.CONTRIBUTOR


def test_service_account_must_be_an_active_member(tenant, other_tenant):
    with pytest.raises(RuleViolation) as error:
        organizations.organization_update(
            actor=tenant.actor(tenant.owner),
            organization=tenant.organization,
            service_account=other_tenant.owner,
        )
    assert error.value.field == "service_account"


def test_service_account_cannot_be_deactivated(tenant):
    organizations.organization_update(
        actor=tenant.actor(tenant.owner),
        organization=tenant.organization,
        service_account=tenant.viewer,
    )
    with pytest.raises(RuleViolation):
        members.member_deactivate(
            actor=tenant.actor(tenant.owner), membership=tenant.membership(tenant.viewer)
        )


def test_org_owner_and_admin_are_admins_of_every_workspace(tenant):
    personal = Workspace.objects.get(personal_owner__user=tenant.contributor)
    for user in (tenant.owner, tenant.admin):
        assert workspace_role(actor=tenant.actor(user), workspace=personal) == WorkspaceRole.ADMIN


def test_personal_workspace_is_invisible_to_other_members_and_only_its_owner_creates_assets(tenant):
    personal = Workspace.objects.get(personal_owner__user=tenant.contributor)
    assert workspace_role(actor=tenant.actor(tenant.viewer), workspace=personal) is None
    require_asset_creation(actor=tenant.actor(tenant.contributor), workspace=personal)
    with pytest.raises(NotAllowed):
        require_asset_creation(actor=tenant.actor(tenant.owner), workspace=personal)
    with pytest.raises(NotFound):
        require_asset_creation(actor=tenant.actor(tenant.viewer), workspace=personal)


def test_shared_workspace_members_and_roles(tenant):
    workspace = shared_workspaces.workspace_create(
        actor=tenant.actor(tenant.contributor), name="Team"
    )
    assert (
        workspace_role(actor=tenant.actor(tenant.contributor), workspace=workspace)
        == WorkspaceRole.ADMIN
    )
    assert workspace_role(actor=tenant.actor(tenant.viewer), workspace=workspace) is None
    shared_workspaces.workspace_member_add(
        actor=tenant.actor(tenant.contributor),
        workspace=workspace,
        membership=tenant.membership(tenant.viewer),
        role=WorkspaceRole.CONTRIBUTOR,
    )
    # An org viewer stays a viewer whatever the workspace says.
    assert (
        workspace_role(actor=tenant.actor(tenant.viewer), workspace=workspace)
        == WorkspaceRole.VIEWER
    )


def test_workspace_member_from_another_organization_is_refused(tenant, other_tenant):
    workspace = shared_workspaces.workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    with pytest.raises(RuleViolation):
        shared_workspaces.workspace_member_add(
            actor=tenant.actor(tenant.owner),
            workspace=workspace,
            membership=other_tenant.membership(other_tenant.contributor),
        )


def test_organization_and_personal_workspaces_cannot_be_deleted(tenant):
    for kind in (WorkspaceKind.ORGANIZATION, WorkspaceKind.PERSONAL):
        workspace = workspaces_of(tenant.organization, kind).first()
        with pytest.raises(RuleViolation):
            shared_workspaces.workspace_delete(
                actor=tenant.actor(tenant.owner), workspace=workspace
            )


def test_viewer_cannot_create_workspaces(tenant):
    with pytest.raises(NotAllowed):
        shared_workspaces.workspace_create(actor=tenant.actor(tenant.viewer), name="x")
