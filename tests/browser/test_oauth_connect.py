"""A member connects an OAuth 2.0 custom service in a real browser: our start route, the provider's
login page (django-oauth-toolkit on loopback), the provider's redirect to our callback, and the
clean result page. Then the HTTP client uses the new auth."""

import secrets

import pytest
import requests
from django.test import Client
from django.urls import reverse

from auths.models import Authentication
from connections.http_client import http_request
from tests.connections.helpers import custom_service
from workspaces.models import UserAPIKey

pytestmark = pytest.mark.django_db(transaction=True)


def test_member_connects_an_oauth2_service_in_the_browser(
    page, live_server, tenant, server, settings
):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    member = tenant.contributor
    client_id, client_secret = f"cid-{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    service = custom_service(
        tenant,
        auth_scheme="oauth2",
        grant_type="authorization_code",
        authorize_url=server.authorize_url,
        token_url=server.token_url,
        base_url=server.base_url + "/api",
        client_id=client_id,
        client_secret=client_secret,
        scopes_available=["read"],
        scopes_default=["read"],
    )
    # The live server runs on localhost and the provider on 127.0.0.1: separate cookie jars.
    callback = live_server.url + reverse("oauth-callback", kwargs={"service_id": service.pk})
    server.create_application(
        grant_type="authorization-code",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=[callback],
        skip_authorization=True,
    )
    account = server.create_user(f"alice-{secrets.token_hex(4)}")

    # The member's browser session, and their API key for the start call (no CSRF dance).
    session = Client()
    session.force_login(member)
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )
    _, key = UserAPIKey.objects.create_key(name="browser-test", user=member)
    start = requests.post(
        live_server.url
        + reverse(
            "authentication-oauth-start", kwargs={"organization_slug": tenant.organization.slug}
        ),
        json={"service": str(service.pk), "name": "My CRM"},
        headers={"Authorization": f"Api-Key {key}"},
        timeout=10,
    )
    assert start.status_code == 201, start.text

    page.goto(start.json()["start_url"])
    page.wait_for_url(f"{server.base_url}/accounts/login/**")
    page.fill("input[name=username]", account["username"])
    page.fill("input[name=password]", account["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/api/oauth/result/**")

    assert "Connected" in page.content()
    assert "code=" not in page.url and "state=" not in page.url
    auth = Authentication.objects.get(service=service)
    assert auth.name == "My CRM" and auth.owner == tenant.membership(member)
    for secret in (auth.access_token.reveal(), auth.refresh_token.reveal()):
        assert secret not in page.content()
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.status == 200 and result.json()["auth"]["username"] == account["username"]
