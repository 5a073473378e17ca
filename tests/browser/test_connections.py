"""Connecting accounts in Chromium, as a member does it: an invited contributor sets a password,
signs in, connects an OAuth 2.0 custom service through the loopback provider and back, connects a
token service with a form of only the fields it needs, tests one, re-authenticates one (same id),
and sees an auth the provider refused explained in plain words. A viewer has no Connect button,
another organization's auths stay invisible, a callback opened without a session answers a page,
and a builder copies a custom service's redirect URI. Every page is checked with axe-core; with
SCREENSHOTS=1 the pages are saved to docs/screenshots/ (tests/browser/screenshots.py)."""

import re
import secrets

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from auths.models import Authentication, AuthStatus
from tests.browser.accessibility import assert_accessible
from tests.browser.pages import sign_in
from tests.browser.screenshots import screenshot
from tests.connections.helpers import custom_service, organization_workspace
from tests.events.test_notifications import reject
from tests.lifecycle.factories import make_auth
from workspaces import invitations

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"
API_KEY = "desk-key-" + "x" * 24


def oauth_custom_service(tenant, server, live_server, name="Acme CRM"):
    """An OAuth 2.0 custom service of the owner, its app registered at the loopback provider with
    the service's redirect URI on the live server."""
    client_id, client_secret = f"cid-{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    service = custom_service(
        tenant,
        name=name,
        description="Our CRM, through its own OAuth app.",
        auth_scheme="oauth2",
        grant_type="authorization_code",
        authorize_url=server.authorize_url,
        token_url=server.token_url,
        base_url=server.base_url + "/api",
        test_path="/echo",
        client_id=client_id,
        client_secret=client_secret,
        scopes_available=["read"],
        scopes_default=["read"],
    )
    server.create_application(
        grant_type="authorization-code",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=[live_server.url + reverse("oauth-callback", args=[service.pk])],
        skip_authorization=True,
    )
    return service


def join_by_invitation(page, live_server, tenant, email) -> None:
    invitations.member_invite(
        actor=tenant.actor(tenant.owner), email=email, base_url=live_server.url, name="Grace"
    )
    link = re.search(r"https?://\S+/account/invitations/\S+/", mail.outbox[-1].body)[0]
    page.goto(link)
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("Type the password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account and join").click()
    expect(page.get_by_text("Welcome to Acme")).to_be_visible()


def open_connections(page):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Your connections")).to_be_visible()


def row(page, name):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))


def test_an_invited_contributor_connects_tests_and_reauthenticates_accounts(
    new_page, live_server, tenant, server, settings, django_capture_on_commit_callbacks
):
    crm = oauth_custom_service(tenant, server, live_server)
    desk = custom_service(
        tenant,
        name="Ticket Desk",
        description="Support tickets, with an API key.",
        base_url=server.base_url + "/api",
        test_path="/public",
    )
    account = server.create_user(f"grace-{secrets.token_hex(4)}")

    page = new_page()
    join_by_invitation(page, live_server, tenant, "grace@example.com")
    open_connections(page)
    expect(page.get_by_text("No connections yet: connect an account to start.")).to_be_visible()
    assert_accessible(page)

    # The picker: the catalog and the organization's custom services, with search.
    page.get_by_role("link", name="Connect an account in Acme").click()
    expect(page.get_by_role("heading", name="Connect an account in Acme")).to_be_visible()
    expect(page.get_by_role("link", name="Connect Acme CRM")).to_be_visible()
    # A catalog connector signs in with the organization's own OAuth app, which Acme lacks.
    github = page.get_by_role("listitem").filter(has=page.get_by_text("GitHub", exact=True))
    expect(github).to_contain_text("Needs your organization's own OAuth app first")
    expect(page.get_by_role("link", name="Connect GitHub")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "connections-picker")
    page.get_by_label("Search services").fill("crm")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Connect Acme CRM")).to_be_visible()
    expect(page.get_by_text("GitHub", exact=True)).to_have_count(0)

    # OAuth 2.0: to the provider and back to the Connections page, with a message.
    page.get_by_role("link", name="Connect Acme CRM").click()
    expect(page.get_by_role("heading", name="Connect Acme CRM")).to_be_visible()
    expect(page.get_by_label("API key or token")).to_have_count(0)
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Name")).fill("My CRM")
    page.get_by_role("button", name="Continue to Acme CRM").click()
    page.wait_for_url(f"{server.base_url}/accounts/login/**")
    page.fill("input[name=username]", account["username"])
    page.fill("input[name=password]", account["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/connections/**")
    expect(page.get_by_text("Acme CRM is connected as “My CRM”.")).to_be_visible()
    expect(row(page, "My CRM")).to_contain_text("Active")
    crm_auth = Authentication.objects.get(service=crm)
    assert "code=" not in page.url and "state=" not in page.url
    assert_accessible(page)

    # A token service: a form with the API key alone.
    page.get_by_role("link", name="Connect an account in Acme").click()
    page.get_by_role("link", name="Connect Ticket Desk").click()
    expect(page.get_by_label("API key or token")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_count(0)
    expect(page.get_by_label("Password")).to_have_count(0)
    page.get_by_label(re.compile(r"^Name")).fill("Support desk")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "connections-token-form")
    page.get_by_label("API key or token").fill(API_KEY)
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_text("Ticket Desk is connected as “Support desk”.")).to_be_visible()
    assert API_KEY not in page.content()

    # Test: the service's test request, its outcome in words.
    row(page, "My CRM").get_by_role("button", name="Test My CRM").click()
    expect(page.get_by_text("Test passed for “My CRM”")).to_be_visible()
    row(page, "Support desk").get_by_role("button", name="Test Support desk").click()
    expect(page.get_by_text("Ticket Desk accepted the credentials")).to_be_visible()

    # Re-authenticate: the provider again (its session remembers the account), same auth id.
    row(page, "My CRM").get_by_role("link", name="Re-authenticate My CRM").click()
    expect(page.get_by_role("heading", name="Re-authenticate “My CRM”")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Re-authenticate at Acme CRM").click()
    page.wait_for_url(f"{live_server.url}/connections/**")
    expect(page.get_by_text("Acme CRM is re-authenticated as “My CRM”.")).to_be_visible()
    assert list(Authentication.objects.filter(service=crm).values_list("pk", flat=True)) == [
        crm_auth.pk
    ]
    crm_auth.refresh_from_db()
    assert crm_auth.version == 2

    # The provider refuses the CRM's refresh token: the page says so in words.
    with django_capture_on_commit_callbacks(execute=True):
        reject(crm_auth)
    assert Authentication.objects.get(pk=crm_auth.pk).status == AuthStatus.NEEDS_REAUTH
    page.reload()
    crm_row = row(page, "My CRM")
    expect(crm_row).to_contain_text("Needs re-authentication")
    expect(crm_row).to_contain_text("Not working: the provider refused it.")
    expect(crm_row).to_contain_text("refused to refresh the access token (invalid_grant)")
    expect(crm_row.get_by_role("link", name="Re-authenticate My CRM")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "connections-list")
    for secret in (API_KEY, crm_auth.access_token.reveal(), crm_auth.refresh_token.reveal()):
        assert secret not in page.content()
    assert desk.pk  # the token service's row was checked above


def test_a_viewer_has_no_connect_button_and_other_organizations_stay_invisible(
    page, live_server, tenant, other_tenant
):
    make_auth(tenant, name="Shared CRM", workspace=organization_workspace(tenant))
    make_auth(other_tenant, owner=other_tenant.contributor, name="Othercorp CRM")
    sign_in(page, live_server, tenant.viewer.email)
    open_connections(page)
    expect(row(page, "Shared CRM")).to_be_visible()
    expect(page.get_by_text("Othercorp CRM")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Connect an account"))).to_have_count(0)
    expect(page.get_by_text("Your role is viewer")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Re-authenticate"))).to_have_count(0)
    assert_accessible(page)
    # Typing the address of another organization's page shows a page, not its data.
    page.goto(f"{live_server.url}/connections/{other_tenant.organization.slug}/connect/")
    expect(page.get_by_role("heading", name="This connection is not here")).to_be_visible()
    assert_accessible(page)


def test_the_callback_opened_without_a_session_shows_a_page(page, live_server, tenant, server):
    service = oauth_custom_service(tenant, server, live_server)
    page.goto(
        live_server.url + reverse("oauth-callback", args=[service.pk]) + "?state=abc&code=def"
    )
    expect(page.get_by_role("heading", name="Sign in to finish connecting")).to_be_visible()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_builder_copies_the_redirect_uri_of_a_custom_service(
    new_page, live_server, tenant, server
):
    service = oauth_custom_service(tenant, server, live_server, name="Acme CRM")
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, tenant.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", name="Services you may use")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Acme CRM").click()
    expect(
        page.get_by_role("heading", name="Redirect URI to register with the provider")
    ).to_be_visible()
    uri = live_server.url + reverse("oauth-callback", args=[service.pk])
    expect(page.get_by_text(uri)).to_be_visible()
    page.get_by_role("button", name="Copy the redirect URI").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == uri
    assert_accessible(page)
    screenshot(page, "service-redirect-uri")

    # Before a service exists: an id is reserved, and its redirect URI is shown.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    page.get_by_role("link", name="Prepare a custom service in Acme").click()
    expect(page.get_by_role("heading", name="Prepare a custom service in Acme")).to_be_visible()
    expect(page.get_by_text(re.compile(r"/api/oauth/callback/[0-9a-f-]{36}/"))).to_be_visible()
    assert_accessible(page)
