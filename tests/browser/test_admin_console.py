"""The owner's admin console in Chromium at 1280 px: the home page's health cards lead to an auth,
the dashboard's rows lead to an auth, a custom service is transferred, a webhook is sent a test
event. The index and the dashboard are checked with axe-core (no serious or critical violation).
With SCREENSHOTS=1 the pages are saved to docs/screenshots/admin-*.png."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from auths.models import AuthStatus
from events.recording import event_record
from services.models import Service
from tests.browser.accessibility import assert_accessible
from tests.browser.pages import sign_in_to_admin
from tests.browser.screenshots import screenshot
from tests.events.webhook_receiver import WebhookReceiver
from tests.lifecycle.factories import make_auth, make_service, make_webhook
from tests.services.builders import make_custom_service

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 800}


@pytest.fixture
def owner(page, live_server, tenant):
    page.set_viewport_size(WIDE)
    sign_in_to_admin(page, live_server, tenant.owner.email)
    return page


def some_health(tenant):
    """A few auths in several states, one expiring, one flagged service, recent events."""
    now = timezone.now()
    crm = make_custom_service(tenant, name="Acme CRM")
    google = make_service(name="Google Drive (testing)", umbrella_status="test")
    broken = make_auth(
        tenant,
        crm,
        name="Sales CRM",
        status=AuthStatus.NEEDS_REAUTH,
        status_reason="The provider refused the refresh token (invalid_grant): the person "
        "revoked the access or the token expired. Re-authenticate to continue.",
    )
    event_record(
        authentication=broken, kind="needs_reauth", message="Refresh refused: invalid_grant"
    )
    expiring = make_auth(
        tenant,
        google,
        name="Team Drive",
        schedule=False,
        status=AuthStatus.EXPIRING,
        refresh_token_expires_at=now + timedelta(days=3),
        refresh_token_expiry_reason="Umbrella app in test status: the refresh token dies 7 "
        "days after consent.",
    )
    event_record(authentication=expiring, kind="expiring", message="Dies in 3 days")
    make_auth(tenant, crm, name="Support CRM")
    make_auth(
        tenant,
        google,
        name="Ops Drive",
        schedule=False,
        refresh_token_expires_at=now + timedelta(days=5),
    )
    return broken, expiring


def test_owner_reaches_an_auth_from_the_home_page_and_from_the_dashboard(
    owner, live_server, tenant
):
    broken, expiring = some_health(tenant)
    owner.goto(f"{live_server.url}/admin/")
    expect(owner.get_by_role("heading", name="Authentications by status")).to_be_visible()
    expect(owner.get_by_role("heading", name="Start here")).to_be_visible()
    assert_accessible(owner)
    screenshot(owner, "admin-home")

    # The "needs re-authentication" card lists exactly those auths; one click opens the auth.
    owner.locator("a.console-card", has_text="Needs re-authentication").click()
    expect(owner.get_by_role("link", name="Sales CRM")).to_be_visible()
    expect(owner.get_by_role("link", name="Support CRM")).to_have_count(0)
    screenshot(owner, "admin-auths-filtered")
    owner.get_by_role("link", name="Sales CRM").click()
    expect(owner.get_by_text("Refresh refused: invalid_grant")).to_be_visible()
    expect(owner.get_by_role("link", name="Re-authenticate")).to_be_visible()
    screenshot(owner, "admin-auth")

    # The dashboard: chart with its table, flagged service with what to do, expiring auths.
    owner.goto(f"{live_server.url}/admin/")
    owner.get_by_role("link", name="Open the lifecycle dashboard").click()
    expect(
        owner.get_by_role("heading", name="Refresh tokens dying in the next 14 days (2)")
    ).to_be_visible()
    expect(owner.get_by_text("What to do:").first).to_be_visible()
    assert_accessible(owner)
    screenshot(owner, "admin-dashboard")
    owner.locator("section[aria-labelledby=h-expiring]").get_by_role(
        "link", name="Team Drive"
    ).click()
    expect(owner.get_by_text("Dies in 3 days")).to_be_visible()
    assert f"/admin/auths/authentication/{expiring.pk}/change/" in owner.url


def test_owner_transfers_a_custom_service(owner, live_server, tenant):
    service = make_custom_service(tenant, name="Acme CRM")
    owner.goto(f"{live_server.url}/admin/services/service/?source__exact=custom")
    owner.get_by_role("row", name="Acme CRM").get_by_role("checkbox").check()
    owner.get_by_label("Action:").select_option("transfer_ownership")
    owner.get_by_role("button", name="Go").click()
    expect(owner.get_by_role("heading", name="Transfer ownership")).to_be_visible()
    owner.get_by_label("New owner").select_option(label=f"{tenant.admin.email} (Admin)")
    assert_accessible(owner)
    screenshot(owner, "admin-transfer")
    owner.get_by_role("button", name="Transfer ownership").click()
    expect(owner.get_by_text(f"Acme CRM: now owned by {tenant.admin.email}.")).to_be_visible()
    assert Service.objects.get(pk=service.pk).owner == tenant.admin


def test_owner_sends_a_webhook_a_test_event(owner, live_server, tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    with WebhookReceiver() as receiver:
        make_webhook(tenant, url=receiver.url)
        owner.goto(f"{live_server.url}/admin/events/webhook/")
        owner.get_by_role("row", name=receiver.url).get_by_role("checkbox").check()
        owner.get_by_label("Action:").select_option("send_test")
        owner.get_by_role("button", name="Go").click()
        expect(owner.get_by_text("test event delivered (HTTP 204)")).to_be_visible()
        screenshot(owner, "admin-webhook-test")
        assert len(receiver.requests) == 1


def test_owner_sees_the_organization_settings_with_help_and_the_allow_list_read_only(
    owner, live_server, tenant
):
    owner.goto(f"{live_server.url}/admin/workspaces/organization/{tenant.organization.pk}/change/")
    expect(owner.get_by_label("Expiry warning (days)")).to_have_value("7")
    expect(owner.get_by_text("Set by the platform's superusers only")).to_be_visible()
    expect(owner.locator("[name=onprem_allowed_hosts]")).to_have_count(0)
    owner.get_by_label("Expiry warning (days)").fill("3")
    owner.get_by_role("button", name="Save", exact=True).click()
    expect(owner.get_by_text("was changed successfully")).to_be_visible()
    owner.goto(f"{live_server.url}/admin/workspaces/organization/{tenant.organization.pk}/change/")
    expect(owner.get_by_label("Expiry warning (days)")).to_have_value("3")
    assert_accessible(owner)
    screenshot(owner, "admin-organization")
