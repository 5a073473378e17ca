"""The config wizard in Chromium, as an end user meets it: framed by the customer's page on another
origin, connecting through the real loopback provider in a popup, filling settings, finishing; the
customer's page receives `instance.configured`. Refusals (a used or expired code, another
organization's code) are pages that say why; a page framed by an origin not on the list does not
render at all. Every screen is checked with axe-core; with SCREENSHOTS=1 the screens are saved to
docs/screenshots/."""

import re
import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from embedded import codes
from embedded.models import AuthorizationCode, CodePurpose, SolutionInstance
from tests.browser.accessibility import assert_accessible
from tests.browser.embedding import (
    RECEIVED,
    EmbeddingPage,
    frame_of,
    live_oauth_service,
    received,
)
from tests.browser.screenshots import screenshot
from tests.conftest import build_tenant
from tests.embedded.builders import allow_origins, make_end_user, wizard_solution
from workspaces.models import Edition

pytestmark = pytest.mark.django_db(transaction=True)


def wizard_link(tenant, end_user, live_server, **bound) -> str:
    """What the customer's backend hands its page: POST …/authorization-codes/ → wizard_url."""
    code, raw = codes.authorization_code_create(
        actor=tenant.actor(tenant.owner), end_user=end_user, purpose=CodePurpose.WIZARD, **bound
    )
    return codes.wizard_url(code, raw, base_url=live_server.url)


@pytest.fixture
def app():
    with EmbeddingPage() as running:
        yield running


@pytest.fixture
def world(embedded_tenant, server, live_server, app):
    # The customer's branding: its name and colour on every page of the wizard.
    organization = embedded_tenant.organization
    organization.wizard_brand_name = "Acme CRM sync"
    organization.wizard_accent_colour = "#5b1a87"
    organization.save()
    allow_origins(embedded_tenant, app.origin)
    crm = live_oauth_service(embedded_tenant, server, live_server)
    solution, _, tickets = wizard_solution(embedded_tenant, server, crm=crm)
    end_user = make_end_user(embedded_tenant, "customer-7")
    return embedded_tenant, solution, crm, tickets, end_user


def test_an_end_user_sets_up_an_integration_inside_the_customers_page(
    page, live_server, server, app, world
):
    tenant, solution, crm, _, end_user = world
    account = server.create_user(f"eu-{secrets.token_hex(4)}")
    page.goto(app.framing(wizard_link(tenant, end_user, live_server, solution=solution)))
    wizard = page.frame_locator("iframe")

    # The CRM: no account yet; its consent opens in a popup, at the real provider.
    expect(wizard.get_by_role("heading", name="Acme CRM", level=1)).to_be_visible()
    expect(wizard.get_by_text("Step 1 of 4")).to_be_visible()
    expect(wizard.get_by_text("You have no Acme CRM account connected yet")).to_be_visible()
    assert_accessible(frame_of(page))
    with page.expect_popup() as opened:
        wizard.get_by_role("button", name="Connect Acme CRM").click()
    popup = opened.value
    popup.wait_for_url(f"{server.base_url}/accounts/login/**")
    popup.fill("input[name=username]", account["username"])
    popup.fill("input[name=password]", account["password"])
    with popup.expect_event("close"):  # the platform's last page told the wizard, and closed
        popup.click("button[type=submit]")
    connected = wizard.get_by_role("radio", name=re.compile(r"Acme CRM \(customer-7\)"))
    expect(connected).to_be_checked()
    expect(wizard.get_by_text("Active")).to_be_visible()
    screenshot(page, "wizard-auth")
    wizard.get_by_role("button", name="Next").click()

    # The ticket desk: an API key, in a form with only that field.
    expect(wizard.get_by_role("heading", name="Ticket desk", level=1)).to_be_visible()
    expect(wizard.get_by_label("User name")).to_have_count(0)
    wizard.get_by_label("API key or token").fill("desk-key-123")
    wizard.get_by_role("button", name="Connect Ticket desk").click()
    expect(wizard.get_by_role("radio", name=re.compile("Ticket desk"))).to_be_checked()
    assert_accessible(frame_of(page))
    wizard.get_by_role("button", name="Next").click()

    # Settings: a required value missing is named next to its field.
    expect(wizard.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(wizard.get_by_label("Daily limit")).to_have_value("10")  # its default
    wizard.get_by_label("Region").select_option("eu")
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_text("'Channel' is required")).to_be_visible()
    expect(wizard.get_by_label("Channel")).to_have_attribute("aria-invalid", "true")
    assert_accessible(frame_of(page))
    screenshot(page, "wizard-settings")
    wizard.get_by_label("Channel").fill("#deals")
    wizard.get_by_label("Notify me").check()
    wizard.get_by_label("sales").check()
    wizard.get_by_role("button", name="Next").click()

    # Review, then Finish: the customer's page hears instance.configured.
    expect(wizard.get_by_role("heading", name="Review and finish")).to_be_visible()
    expect(wizard.get_by_role("cell", name="#deals")).to_be_visible()
    assert_accessible(frame_of(page))
    screenshot(page, "wizard-review")
    wizard.get_by_role("button", name="Finish").click()
    expect(wizard.get_by_role("heading", name="All set")).to_be_visible()
    page.wait_for_function(RECEIVED % "instance.configured")

    instance = SolutionInstance.objects.get(end_user=end_user)
    [message] = [m for m in received(page) if m["data"].get("type") == "instance.configured"]
    assert message == {
        "origin": live_server.url,
        "data": {"type": "instance.configured", "instance_id": str(instance.pk)},
    }
    assert not instance.enabled
    assert instance.config_values["channel"] == "#deals"
    assert sorted(instance.auth_bindings.values_list("slot", flat=True)) == ["crm", "tickets"]
    assert_accessible(frame_of(page))


def test_cancel_tells_the_customers_page(page, live_server, app, world):
    tenant, solution, _, _, end_user = world
    page.goto(app.framing(wizard_link(tenant, end_user, live_server, solution=solution)))
    page.frame_locator("iframe").get_by_role("button", name="Cancel").click()
    page.wait_for_function(RECEIVED % "wizard.close")
    assert not SolutionInstance.objects.exists()


def test_a_used_code_is_refused_with_a_page_that_says_why(new_page, live_server, app, world):
    tenant, solution, _, _, end_user = world
    link = wizard_link(tenant, end_user, live_server, solution=solution)
    first = new_page()
    first.goto(app.framing(link))
    expect(first.frame_locator("iframe").get_by_text("Step 1 of 4")).to_be_visible()

    again = new_page()  # the same link, opened again (another browser, or a reload of the page)
    again.goto(app.framing(link))

    wizard = again.frame_locator("iframe")
    expect(wizard.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(wizard.get_by_text("codes work once, for 10 minutes")).to_be_visible()
    again.wait_for_function(RECEIVED % "wizard.error")
    assert_accessible(frame_of(again))
    screenshot(again, "wizard-refused")


def test_an_expired_code_is_refused_with_a_page_that_says_why(page, live_server, app, world):
    tenant, solution, _, _, end_user = world
    link = wizard_link(tenant, end_user, live_server, solution=solution)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    page.goto(app.framing(link))

    wizard = page.frame_locator("iframe")
    expect(wizard.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(wizard.get_by_text("Ask the app that sent you here for a new one")).to_be_visible()


def test_another_organizations_code_is_refused_with_a_page_that_says_why(
    page, live_server, server, app, world
):
    tenant, solution, _, _, _ = world
    other = build_tenant(edition=Edition.EMBEDDED, name="Othercorp")
    other_solution, _, _ = wizard_solution(other, server)
    foreign = wizard_link(other, make_end_user(other), live_server, solution=other_solution)
    # Their code on our organization's page.
    ours = reverse(
        "embedded-wizard-solution",
        kwargs={"organization_slug": tenant.organization.slug, "solution_id": solution.pk},
    )
    page.goto(app.framing(live_server.url + ours + "?" + foreign.split("?", 1)[1]))

    wizard = page.frame_locator("iframe")
    expect(
        wizard.get_by_role("heading", name="This link is for another organization")
    ).to_be_visible()
    expect(wizard.get_by_text("another organization's app")).to_be_visible()


def test_a_page_framed_by_an_origin_not_on_the_list_does_not_render(page, live_server, world):
    tenant, solution, _, _, end_user = world
    link = wizard_link(tenant, end_user, live_server, solution=solution)
    answers = []
    page.on(
        "response",
        lambda response: answers.append(response) if "/configure/" in response.url else None,
    )
    with EmbeddingPage() as stranger:  # another port: an origin not on the list
        page.goto(stranger.framing(link))
        page.wait_for_load_state("networkidle")

        # Chromium shows its own error in the frame instead ("… refused to connect").
        shown = frame_of(page).evaluate("document.body ? document.body.innerText : ''")
        assert "Step 1 of 4" not in shown and "Acme CRM" not in shown
        policy = answers[-1].header_value("content-security-policy")
        assert f"frame-ancestors 'self' {tenant.organization.allowed_origins[0]}" in policy
        assert stranger.origin not in policy
        assert answers[-1].header_value("x-frame-options") is None
