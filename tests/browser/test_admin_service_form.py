"""An organization owner creates an OAuth 2.0 custom service in the admin, in Chromium: the sign-in
method first, then a form of only that method's fields with the redirect URI to register, a
parameter typed in an inline row, a first submit that shows every problem at once (and asks for
the secret again), a second that saves. A connector without the organization's own OAuth app says
what to do. Every page is checked with axe-core; with SCREENSHOTS=1 the pages are saved to
docs/screenshots/ (tests/browser/screenshots.py)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from services.models import Service, ServiceSource
from tests.browser.accessibility import assert_accessible
from tests.browser.pages import sign_in_to_admin
from tests.browser.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_creates_an_oauth2_custom_service_in_the_admin(page, live_server, tenant):
    sign_in_to_admin(page, live_server, tenant.owner.email)
    page.goto(live_server.url + reverse("admin:services_service_add"))

    # The method first: plain links, one per method.
    expect(page.get_by_role("heading", name="Sign-in method")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "admin-service-method")
    page.get_by_role(
        "link", name="OAuth 2.0: people sign in at the provider (authorization code)"
    ).click()

    # Only that method's fields, the organization already chosen, the redirect URI shown.
    expect(page.locator("#id_authorize_url")).to_be_visible()
    expect(page.locator("#id_request_token_url")).to_have_count(0)
    expect(page.locator("#id_organization")).to_have_value(str(tenant.organization.pk))
    reserved = re.search(r"reserved_id=([0-9a-f-]{36})", page.url).group(1)
    redirect_uri = f"{live_server.url}/api/oauth/callback/{reserved}/"
    expect(page.locator("#redirect-uri")).to_have_text(redirect_uri)
    assert_accessible(page)
    page.locator("#id_name").fill("Shop CRM")
    page.locator("#id_authorize_url").fill("http://{{shop}}.crm.example/oauth/authorize")
    page.locator("#id_client_id").fill("shop-crm-client")
    page.locator("#id_new_client_secret").fill("shop-crm-secret")
    page.locator("#id_scopes_available").fill("read, write")
    page.locator("#id_scopes_default").fill("admin")
    page.locator("#id_base_url").fill("https://{{shop}}.crm.example/api")
    page.locator("#id_parameters-0-name").fill("shop")
    page.locator("#id_parameters-0-title").fill("Shop name")
    screenshot_at(page, "#id_name", "admin-service-form")
    page.get_by_role("button", name="Save", exact=True).click()

    # Every problem at once, beside its field, in words; the secret to type again.
    expect(page.get_by_text("Please correct the errors below.")).to_be_visible()
    expect(page.locator(".field-token_url .errorlist")).to_contain_text(
        "needs the provider's token URL"
    )
    expect(page.locator(".field-authorize_url .errorlist")).to_contain_text("Use an https:// URL")
    expect(page.locator(".field-scopes_default .errorlist")).to_contain_text(
        "admin: not among the available scopes"
    )
    expect(page.locator(".field-new_client_secret .errorlist")).to_contain_text("type it again")
    expect(page.locator("#id_parameters-0-name")).to_have_value("shop")
    expect(page.locator("#id_scopes_available")).to_have_value("read, write")
    expect(page.locator("#redirect-uri")).to_have_text(redirect_uri)
    assert "token_url:" not in page.content() and "authorize_url:" not in page.content()
    assert_accessible(page)
    screenshot_at(page, ".field-authorize_url", "admin-service-form-errors")
    screenshot_at(page, ".field-redirect_uri", "admin-service-form-secret")

    # Fixed on the second submit.
    page.locator("#id_authorize_url").fill("https://{{shop}}.crm.example/oauth/authorize")
    page.locator("#id_token_url").fill("https://{{shop}}.crm.example/oauth/token")
    page.locator("#id_scopes_default").fill("read")
    page.locator("#id_new_client_secret").fill("shop-crm-secret")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    service = Service.objects.get(organization=tenant.organization, name="Shop CRM")
    assert str(service.pk) == reserved
    assert service.scopes_available == ["read", "write"]
    assert [p["name"] for p in service.parameters] == ["shop"]
    assert service.client_secret is not None
    expect(page.locator("#redirect-uri")).to_have_text(redirect_uri)
    assert "shop-crm-secret" not in page.content()
    assert_accessible(page)


def test_a_connector_without_the_organizations_oauth_app_leads_to_the_form(
    page, live_server, tenant
):
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    sign_in_to_admin(page, live_server, tenant.owner.email)
    page.goto(live_server.url + reverse("admin:services_service_change", args=[github.pk]))
    expect(page.get_by_text("GitHub cannot be connected yet")).to_be_visible()
    icon = page.locator(".field-icon_image img")
    expect(icon).to_have_attribute("src", "/static/services/icons/github.svg")
    assert page.evaluate("(img) => img.naturalWidth", icon.element_handle()) > 0
    assert_accessible(page)
    screenshot(page, "admin-connector-own-app")
    page.get_by_role("link", name="Create a custom service from GitHub").click()
    expect(page.locator("#id_name")).to_have_value("GitHub (own OAuth app)")
    expect(page.locator("#id_token_url")).to_have_value(
        "https://github.com/login/oauth/access_token"
    )
    page.locator("#id_client_id").fill("my-github-app")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    own = Service.objects.get(organization=tenant.organization, template=github)
    assert own.client_id == "my-github-app"


def screenshot_at(page, selector: str, name: str) -> None:
    page.locator(selector).first.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -80)")
    screenshot(page, name)
