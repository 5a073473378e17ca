"""The auth-only dialog in Chromium, framed by the customer's page on another origin: connecting a
new account through the real loopback provider in a popup answers `auth.finish` with the new
auth's id; renewing an auth from the link of a webhook keeps its id; cancelling answers
`auth.close`. Each page is checked with axe-core; with SCREENSHOTS=1 the dialog is saved to
docs/screenshots/auth-dialog.png."""

import re
import secrets

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from auths.models import Authentication
from embedded.codes import authorization_code_create
from embedded.end_user_events import reauthentication_url
from embedded.models import CodePurpose
from tests.browser.accessibility import assert_accessible
from tests.browser.embedding import (
    RECEIVED,
    EmbeddingPage,
    frame_of,
    live_oauth_service,
    received,
)
from tests.browser.screenshots import screenshot
from tests.embedded.builders import allow_origins, make_end_user, token_auth, token_service

pytestmark = pytest.mark.django_db(transaction=True)


def fresh_code(tenant, end_user, **bound) -> str:
    """The customer's backend: POST …/end-users/<id>/authorization-codes/ → code."""
    _, raw = authorization_code_create(
        actor=tenant.actor(tenant.owner), end_user=end_user, purpose=CodePurpose.WIZARD, **bound
    )
    return raw


@pytest.fixture
def app(embedded_tenant):
    with EmbeddingPage() as running:
        allow_origins(embedded_tenant, running.origin)
        yield running


def test_the_dialog_connects_an_account_and_answers_auth_finish(
    page, live_server, server, app, embedded_tenant
):
    tenant = embedded_tenant
    crm = live_oauth_service(tenant, server, live_server)
    end_user = make_end_user(tenant, "customer-9")
    account = server.create_user(f"eu-{secrets.token_hex(4)}")
    dialog = live_server.url + reverse(
        "embedded-auth-dialog",
        kwargs={"organization_slug": tenant.organization.slug, "target": str(crm.pk)},
    )

    page.goto(app.framing(f"{dialog}?code={fresh_code(tenant, end_user)}"))

    framed = page.frame_locator("iframe")
    expect(framed.get_by_role("heading", name="Connect Acme CRM")).to_be_visible()
    expect(framed.get_by_text("opens in a new window")).to_be_visible()
    assert_accessible(frame_of(page))
    screenshot(page, "auth-dialog")
    with page.expect_popup() as opened:
        framed.get_by_role("button", name="Connect Acme CRM").click()
    popup = opened.value
    popup.wait_for_url(f"{server.base_url}/accounts/login/**")
    popup.fill("input[name=username]", account["username"])
    popup.fill("input[name=password]", account["password"])
    with popup.expect_event("close"):
        popup.click("button[type=submit]")

    expect(framed.get_by_role("heading", name="Connected")).to_be_visible()
    page.wait_for_function(RECEIVED % "auth.finish")
    auth = Authentication.objects.get(end_user=end_user)
    assert [m for m in received(page) if m["data"]["type"] == "auth.finish"] == [
        {
            "origin": live_server.url,
            "data": {"type": "auth.finish", "authentication_id": str(auth.pk)},
        }
    ]
    assert_accessible(frame_of(page))


def test_the_webhooks_link_renews_the_same_auth(page, live_server, server, app, embedded_tenant):
    tenant = embedded_tenant
    end_user = make_end_user(tenant, "customer-10")
    desk = token_auth(end_user, token_service(tenant, server), api_key="old-key", name="Desk")
    # The webhook's reauthentication.url, with a fresh code added by the backend.
    link = f"{live_server.url}{reauthentication_url(desk)}&code={fresh_code(tenant, end_user)}"

    page.goto(app.framing(link))

    framed = page.frame_locator("iframe")
    expect(framed.get_by_role("heading", name="Renew your Ticket desk connection")).to_be_visible()
    expect(framed.get_by_text(re.compile("Your connection Desk needs you"))).to_be_visible()
    assert_accessible(frame_of(page))
    framed.get_by_label("API key or token").fill("new-key")
    framed.get_by_role("button", name="Renew Ticket desk").click()
    page.wait_for_function(RECEIVED % "auth.finish")

    [finish] = [m["data"] for m in received(page) if m["data"]["type"] == "auth.finish"]
    assert finish == {"type": "auth.finish", "authentication_id": str(desk.pk)}
    assert Authentication.objects.get(pk=desk.pk).api_key.reveal() == "new-key"


def test_cancelling_the_dialog_answers_auth_close(page, live_server, server, app, embedded_tenant):
    tenant = embedded_tenant
    end_user = make_end_user(tenant)
    service = token_service(tenant, server)
    dialog = live_server.url + reverse(
        "embedded-auth-dialog",
        kwargs={"organization_slug": tenant.organization.slug, "target": str(service.pk)},
    )
    page.goto(app.framing(f"{dialog}?code={fresh_code(tenant, end_user)}"))
    page.frame_locator("iframe").get_by_role("button", name="Cancel").click()
    page.wait_for_function(RECEIVED % "auth.close")
    assert not Authentication.objects.filter(end_user=end_user).exists()
