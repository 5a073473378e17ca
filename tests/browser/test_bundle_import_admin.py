"""An organization owner imports the README's example bundle in the admin, in a real browser: the
upload page and the plan screen pass axe, the plan offers to create the missing custom service,
and the import creates it with the client secret typed into the plan screen."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from projects.models import Project
from services.models import Service
from tests.browser.accessibility import assert_accessible
from tests.browser.pages import sign_in_to_admin

pytestmark = pytest.mark.django_db(transaction=True)

BUNDLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "contacts-sync.bundle.json"


def test_owner_plans_and_imports_a_bundle_creating_the_custom_service(page, live_server, tenant):
    sign_in_to_admin(page, live_server, tenant.owner.email)
    page.goto(f"{live_server.url}/admin/projects/project/import/")
    assert_accessible(page)

    page.get_by_label("Bundle file").set_input_files(str(BUNDLE))
    page.get_by_role("button", name="Plan the import").click()
    expect(page.get_by_role("heading", name="Plan: project bundle “Contacts sync”")).to_be_visible()
    assert "not in this organization" in page.content()
    assert_accessible(page)

    page.get_by_label("Decision for Contacts API").select_option("create")
    page.get_by_label("Client secret (if creating; required)").fill("browser-client-secret")
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_text("Imported 'Contacts sync' (created)")).to_be_visible()
    service = Service.objects.get(organization=tenant.organization, slug="contacts-api")
    assert service.client_secret is not None
    assert Project.objects.get(organization=tenant.organization).auth_slots.get().service == service
