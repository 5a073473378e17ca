"""Invitations (workspaces/invitations.py): a person becomes a member by accepting an emailed link
that works once, for INVITATION_VALID_DAYS days; only the link's hash is stored."""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from infrastructure.errors import NotAllowed, RuleViolation, UpstreamError
from tests.factories import UserFactory
from workspaces import invitations
from workspaces.members import membership_create
from workspaces.models import Invitation, OrganizationAPIKey, OrgRole, User, Workspace

pytestmark = pytest.mark.django_db

BASE_URL = "http://platform.example"
STRONG = "a-long-and-unusual-passphrase-42"


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


def token_from(mail) -> str:
    return mail.body.split("/account/invitations/")[1].split("/")[0]


def invite(tenant, email="ada@example.com", role=OrgRole.CONTRIBUTOR, **kwargs):
    return invitations.member_invite(
        actor=tenant.actor(tenant.owner), email=email, role=role, base_url=BASE_URL, **kwargs
    )


def test_inviting_emails_a_single_link_and_stores_only_its_hash(tenant, mailoutbox):
    invitation = invite(tenant, email="Ada@Example.com", name="Ada")
    assert invitation.email == "ada@example.com" and invitation.invited_by == tenant.owner
    assert invitations.invitation_status(invitation) == "pending"
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"] and tenant.organization.name in mail.subject
    token = token_from(mail)
    assert f"{BASE_URL}/account/invitations/{token}/" in mail.body
    assert "works once" in mail.body
    assert token not in str(Invitation.objects.values_list())
    # Nobody is a member (nor has an account) before accepting.
    assert not User.objects.filter(email="ada@example.com").exists()


def test_a_new_person_sets_a_password_and_becomes_a_member(tenant, mailoutbox):
    invite(tenant, role=OrgRole.VIEWER)
    token = token_from(mailoutbox[0])
    membership = invitations.invitation_accept_as_new_person(
        token=token, password=STRONG, name="Ada L."
    )
    assert membership.organization == tenant.organization and membership.role == OrgRole.VIEWER
    user = membership.user
    assert user.email == "ada@example.com" and user.name == "Ada L."
    assert user.check_password(STRONG)
    assert Workspace.objects.filter(personal_owner=membership).exists()
    invitation = Invitation.objects.get(email="ada@example.com")
    assert invitations.invitation_status(invitation) == "accepted"


def test_a_link_works_once(tenant, mailoutbox):
    invite(tenant)
    token = token_from(mailoutbox[0])
    invitations.invitation_accept_as_new_person(token=token, password=STRONG)
    with pytest.raises(invitations.InvitationUnusable):
        invitations.invitation_for_token(token=token)
    with pytest.raises(invitations.InvitationUnusable):
        invitations.invitation_accept_as_new_person(token=token, password=STRONG + "x")
    assert User.objects.get(email="ada@example.com").check_password(STRONG)


def test_an_expired_link_cannot_be_used(tenant, mailoutbox):
    invitation = invite(tenant)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(invitations.InvitationUnusable) as error:
        invitations.invitation_for_token(token=token_from(mailoutbox[0]))
    assert "works once, for 7 days" in error.value.message


def test_unknown_used_and_expired_links_get_the_same_answer(tenant, mailoutbox):
    invite(tenant, email="used@example.com")
    used = token_from(mailoutbox[0])
    invitations.invitation_accept_as_new_person(token=used, password=STRONG)
    expired_invitation = invite(tenant, email="late@example.com")
    Invitation.objects.filter(pk=expired_invitation.pk).update(expires_at=timezone.now())
    expired = token_from(mailoutbox[1])
    answers = set()
    for token in (used, expired, "no-such-token", "x" * 500):
        with pytest.raises(invitations.InvitationUnusable) as error:
            invitations.invitation_for_token(token=token)
        answers.add((error.value.status_code, error.value.code, error.value.message))
    assert len(answers) == 1


def test_inviting_again_replaces_the_earlier_link(tenant, mailoutbox):
    invite(tenant, role=OrgRole.VIEWER)
    invite(tenant, role=OrgRole.CONTRIBUTOR)
    first, second = token_from(mailoutbox[0]), token_from(mailoutbox[1])
    with pytest.raises(invitations.InvitationUnusable):
        invitations.invitation_for_token(token=first)
    membership = invitations.invitation_accept_as_new_person(token=second, password=STRONG)
    assert membership.role == OrgRole.CONTRIBUTOR


def test_a_weak_password_is_refused_on_the_password_field_and_nothing_is_made(tenant, mailoutbox):
    invite(tenant)
    token = token_from(mailoutbox[0])
    with pytest.raises(RuleViolation) as error:
        invitations.invitation_accept_as_new_person(token=token, password="12345678")
    assert error.value.field == "password" and "common" in error.value.message
    assert not User.objects.filter(email="ada@example.com").exists()
    assert invitations.invitation_for_token(token=token)  # still usable


def test_someone_with_an_account_signs_in_and_accepts(tenant, other_tenant, mailoutbox):
    person = other_tenant.contributor
    invite(tenant, email=person.email.upper())
    token = token_from(mailoutbox[0])
    invitation = invitations.invitation_for_token(token=token)
    assert invitations.invitation_account_exists(invitation)
    with pytest.raises(RuleViolation, match="sign in to accept"):
        invitations.invitation_accept_as_new_person(token=token, password=STRONG)
    with pytest.raises(NotAllowed, match="another email address"):
        invitations.invitation_accept(token=token, user=tenant.viewer)
    membership = invitations.invitation_accept(token=token, user=person)
    assert membership.organization == tenant.organization and membership.is_active
    assert person.check_password("pw-for-tests-123"), "their password stays"


def test_an_account_without_a_password_chooses_one_through_the_invitation(tenant, mailoutbox):
    # Accounts made by the former member_add had no usable password.
    person = User.objects.create_user(email="nopass@example.com", password=None)
    invite(tenant, email=person.email)
    membership = invitations.invitation_accept_as_new_person(
        token=token_from(mailoutbox[0]), password=STRONG
    )
    assert membership.user == person
    person.refresh_from_db()
    assert person.check_password(STRONG)


def test_an_active_member_is_not_invited(tenant, mailoutbox):
    with pytest.raises(RuleViolation) as error:
        invite(tenant, email=tenant.viewer.email)
    assert error.value.field == "email" and "already a member" in error.value.message
    assert mailoutbox == []


def test_only_owners_and_admins_invite_and_only_the_owner_invites_admins(tenant):
    with pytest.raises(NotAllowed):
        invitations.member_invite(
            actor=tenant.actor(tenant.contributor), email="x@example.com", base_url=BASE_URL
        )
    with pytest.raises(NotAllowed):
        invitations.member_invite(
            actor=tenant.actor(tenant.admin),
            email="x@example.com",
            role=OrgRole.ADMIN,
            base_url=BASE_URL,
        )


def test_an_invalid_address_or_a_name_on_two_lines_is_a_field_error(tenant):
    with pytest.raises(RuleViolation) as error:
        invite(tenant, email="not-an-address")
    assert error.value.field == "email"
    with pytest.raises(RuleViolation) as error:
        invite(tenant, name="Ada\nBcc: someone@example.com")
    assert error.value.field == "name"


def test_when_the_email_cannot_be_sent_no_invitation_is_kept(tenant, settings):
    settings.EMAIL_BACKEND = "tests.workspaces.test_invitations.FailingEmailBackend"
    with pytest.raises(UpstreamError) as error:
        invite(tenant)
    assert error.value.status_code == 502 and "EMAIL_HOST" in error.value.message
    assert not Invitation.objects.exists()


def test_an_organization_api_key_invites_without_a_person(tenant, api, mailoutbox):
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.post(
        reverse("member-list", kwargs={"organization_slug": tenant.organization.slug}),
        {"email": "bot@example.com"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["invited_by_email"] is None
    assert mailoutbox[0].body.startswith("You are invited to join")


def test_the_api_says_why_when_the_email_cannot_be_sent(tenant, api, settings):
    settings.EMAIL_BACKEND = "tests.workspaces.test_invitations.FailingEmailBackend"
    response = api.as_user(tenant.owner).post(
        reverse("member-list", kwargs={"organization_slug": tenant.organization.slug}),
        {"email": "ada@example.com"},
        format="json",
    )
    assert response.status_code == 502
    assert "could not be sent" in response.json()["error"]["message"]
    assert not Invitation.objects.exists()


def test_accepting_after_joining_another_way_keeps_the_role(tenant, mailoutbox):
    person = UserFactory()
    invite(tenant, email=person.email, role=OrgRole.VIEWER)
    membership_create(organization=tenant.organization, user=person, role=OrgRole.CONTRIBUTOR)
    membership = invitations.invitation_accept(token=token_from(mailoutbox[0]), user=person)
    assert membership.role == OrgRole.CONTRIBUTOR
