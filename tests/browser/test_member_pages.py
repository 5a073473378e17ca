"""The member journey in Chromium, as a person sees it: an owner invites a contributor in the
admin, the contributor opens the emailed link, chooses a password and lands on their home; signing
in with a wrong password, being locked out, making an API key, an expired invitation. Every page
of ours is checked with axe-core (no serious or critical violation). With SCREENSHOTS=1 the pages
are saved to docs/screenshots/ (tests/browser/screenshots.py)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.pages import sign_in, sign_in_to_admin
from tests.browser.screenshots import screenshot
from workspaces import invitations
from workspaces.models import Invitation, Membership, OrgRole, UserAPIKey

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


def invitation_link(message) -> str:
    return re.search(r"https?://\S+/account/invitations/\S+/", message.body)[0]


def test_an_invited_contributor_sets_a_password_and_lands_on_their_home(
    new_page, live_server, tenant
):
    # The owner invites, in the admin.
    owner = new_page()
    sign_in_to_admin(owner, live_server, tenant.owner.email)
    owner.goto(f"{live_server.url}/admin/workspaces/invitation/add/")
    owner.get_by_label("Organization").select_option(label="Acme")
    owner.get_by_label("Email").fill("grace@example.com")
    owner.get_by_label("Name").fill("Grace Hopper")
    owner.get_by_label("Role").select_option(label="Contributor")
    owner.get_by_role("button", name="Save", exact=True).click()
    expect(owner.get_by_text("was added successfully")).to_be_visible()

    # The email reaches the contributor, who opens the link in their own browser.
    [message] = mail.outbox
    assert message.to == ["grace@example.com"]
    link = invitation_link(message)
    assert link.startswith(live_server.url)
    person = new_page()
    person.goto(link)
    expect(person.get_by_role("heading", name="Join Acme")).to_be_visible()
    expect(person.get_by_text("as contributor")).to_be_visible()
    expect(person.get_by_label("Your name")).to_have_value("Grace Hopper")
    assert_accessible(person)
    screenshot(person, "invitation")

    # Two different passwords: the error is next to the field, the form stays.
    person.get_by_label("Choose a password").fill(NEW_PASSWORD)
    person.get_by_label("Type the password again").fill(NEW_PASSWORD + "!")
    person.get_by_role("button", name="Create my account and join").click()
    expect(person.get_by_text("The two passwords differ")).to_be_visible()
    assert_accessible(person)

    person.get_by_label("Choose a password").fill(NEW_PASSWORD)
    person.get_by_label("Type the password again").fill(NEW_PASSWORD)
    person.get_by_role("button", name="Create my account and join").click()
    expect(person.get_by_role("heading", name="Your organizations")).to_be_visible()
    expect(person.get_by_text("Welcome to Acme")).to_be_visible()
    expect(person.get_by_role("heading", name="Acme")).to_be_visible()
    expect(person.get_by_role("banner")).to_contain_text("Signed in as grace@example.com")
    assert_accessible(person)
    screenshot(person, "home")
    membership = Membership.objects.get(user__email="grace@example.com")
    assert membership.role == OrgRole.CONTRIBUTOR

    # The link is used up.
    person.goto(link)
    expect(
        person.get_by_role("heading", name="This invitation link cannot be used")
    ).to_be_visible()


def test_a_wrong_password_shows_an_error_on_the_sign_in_form(page, live_server, tenant):
    page.goto(f"{live_server.url}/account/sign-in/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sign-in")
    sign_in(page, live_server, tenant.contributor.email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("The email address or the password is wrong")
    expect(page.get_by_label("Email address")).to_have_value(tenant.contributor.email)
    assert_accessible(page)
    screenshot(page, "sign-in-error")

    sign_in(page, live_server, tenant.contributor.email)
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()


def test_too_many_failed_sign_ins_show_the_lockout_page(page, live_server, tenant, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        sign_in(page, live_server, tenant.viewer.email, "wrong")
        expect(page.get_by_role("alert")).to_contain_text("password is wrong")
    sign_in(page, live_server, tenant.viewer.email, "wrong")
    expect(page.get_by_role("heading", name="Signing in is locked for now")).to_be_visible()
    expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_text("locked for 15 minutes")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "locked-out")
    # Even the right password now shows the same page.
    sign_in(page, live_server, tenant.viewer.email)
    expect(page.get_by_role("heading", name="Signing in is locked for now")).to_be_visible()


def test_an_api_key_is_shown_once_then_only_its_prefix(page, live_server, tenant):
    sign_in(page, live_server, tenant.contributor.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    expect(page.get_by_text("You have no API keys.")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Key name").fill("deploy script")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Your new API key")).to_be_visible()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    key = page.get_by_label("API key").input_value()
    key_obj = UserAPIKey.objects.get(user=tenant.contributor)
    assert key.startswith(key_obj.prefix) and UserAPIKey.objects.is_valid(key)
    assert_accessible(page)
    screenshot(page, "api-key-created")

    page.get_by_role("link", name="Back to your API keys").click()
    row = page.get_by_role("row", name=re.compile("deploy script"))
    expect(row).to_contain_text(key_obj.prefix)
    expect(row).to_contain_text("Active")
    assert key not in page.content()
    assert_accessible(page)
    screenshot(page, "api-keys")

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("deploy script"))).to_contain_text("Revoked")


def test_an_expired_invitation_is_refused_with_a_page_that_says_why(
    page, live_server, tenant, mailoutbox
):
    invitation = invitations.member_invite(
        actor=tenant.actor(tenant.owner), email="late@example.com", base_url=live_server.url
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    page.goto(invitation_link(mailoutbox[0]))
    expect(page.get_by_role("heading", name="This invitation link cannot be used")).to_be_visible()
    expect(page.get_by_text("works once, for 7 days")).to_be_visible()
    expect(page.get_by_text("ask the person who invited you")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "invitation-unusable")
    assert not Membership.objects.filter(user__email="late@example.com").exists()


def test_the_api_docs_load_from_the_platform_alone(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI has rendered the schema: its sections, by tag, with their descriptions.
    expect(page.get_by_text("Organizations, members, workspaces, API keys.")).to_be_visible()
    expect(page.get_by_text("Authentications, OAuth flows, API calls.")).to_be_visible()
    page.wait_for_load_state("networkidle")
    own = urlsplit(live_server.url).netloc
    elsewhere = [url for url in requested if urlsplit(url).netloc != own]
    assert requested and elsewhere == []


def test_someone_with_an_account_signs_in_from_the_invitation_and_joins(
    page, live_server, tenant, other_tenant, mailoutbox
):
    person = other_tenant.viewer
    invitations.member_invite(
        actor=tenant.actor(tenant.owner),
        email=person.email,
        role=OrgRole.VIEWER,
        base_url=live_server.url,
    )
    page.goto(invitation_link(mailoutbox[0]))
    expect(page.get_by_text("You already have an account with this address")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Sign in to accept").click()
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill("pw-for-tests-123")
    page.get_by_role("button", name="Sign in").click()
    # Back on the invitation, now to accept it.
    join = page.get_by_role("button", name="Join Acme")
    expect(join).to_be_visible()
    assert_accessible(page)
    join.click()
    expect(page.get_by_text("You joined Acme.")).to_be_visible()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.get_by_role("heading", name="Othercorp")).to_be_visible()


def test_an_invitation_opened_while_signed_in_as_someone_else_says_so(
    page, live_server, tenant, mailoutbox
):
    invitations.member_invite(
        actor=tenant.actor(tenant.owner), email="ada@example.com", base_url=live_server.url
    )
    sign_in(page, live_server, tenant.viewer.email)
    page.goto(invitation_link(mailoutbox[0]))
    expect(page.get_by_role("alert")).to_contain_text("This invitation is for ada@example.com")
    assert_accessible(page)
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    # Signed out, back on the invitation: ada can now choose her password.
    expect(page.get_by_label("Choose a password")).to_be_visible()


def test_password_pages_reset_by_email_and_change(page, live_server, tenant, mailoutbox):
    page.goto(f"{live_server.url}/account/sign-in/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email").fill(tenant.viewer.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page)

    link = re.search(r"https?://\S+/account/password-reset/\S+/", mailoutbox[0].body)[0]
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("This password is too short.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    assert_accessible(page)

    sign_in(page, live_server, tenant.viewer.email, NEW_PASSWORD)
    page.get_by_role("link", name="Change your password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Old password").fill(NEW_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD + "-2")
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD + "-2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()


def test_times_are_shown_in_the_zone_chosen_with_its_name(page, live_server, tenant):
    sign_in(page, live_server, tenant.viewer.email)
    expect(
        page.get_by_text(re.compile(r"Member since \d{4}-\d\d-\d\d \d\d:\d\d UTC"))
    ).to_be_visible()
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_text("Times are now shown in Asia/Tokyo.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Member since .* JST \(Asia/Tokyo\)"))).to_be_visible()
    assert_accessible(page)
