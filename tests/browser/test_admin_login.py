"""An organization owner logs into the admin in a real browser and sees only their organization."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_logs_in_and_sees_only_their_members(page, live_server, tenant, other_tenant):
    page.goto(f"{live_server.url}/admin/")
    page.fill("input[name=username]", tenant.owner.email)
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/workspaces/membership/")
    body = page.content()
    assert tenant.contributor.email in body
    assert other_tenant.contributor.email not in body
