"""Steps a person takes on the member pages, shared by the browser tests."""

from playwright.sync_api import expect

PASSWORD = "pw-for-tests-123"


def sign_in(page, live_server, email, password=PASSWORD):
    """Sign in on the member sign-in page; leaves the page wherever the sign-in led."""
    page.goto(f"{live_server.url}/account/sign-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_to_admin(page, live_server, email, password=PASSWORD):
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
