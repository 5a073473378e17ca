"""Factory-style helpers for the auths tests: services made directly as rows (no dependency on the
services app's code), OAuth applications registered at the loopback server, and the browser flow
played with Django's test client against the real callback view."""

import secrets
from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse

from auths.models import Authentication, OAuthTransaction
from services.models import Service
from workspaces.models import Workspace, WorkspaceKind

CALLBACK_HOST = "http://testserver"


def personal_workspace(tenant, user) -> Workspace:
    return Workspace.objects.get(
        organization=tenant.organization,
        kind=WorkspaceKind.PERSONAL,
        personal_owner=tenant.membership(user),
    )


def organization_workspace(tenant) -> Workspace:
    return Workspace.objects.get(organization=tenant.organization, kind=WorkspaceKind.ORGANIZATION)


def custom_service(tenant, *, user=None, **fields) -> Service:
    """A custom service owned by `user` (default: the org owner) in their personal workspace."""
    user = user or tenant.owner
    values = {
        "source": "custom",
        "organization": tenant.organization,
        "workspace": personal_workspace(tenant, user),
        "owner": user,
        "slug": f"svc-{secrets.token_hex(4)}",
        "name": "Test API",
        "auth_scheme": "token",
    }
    values.update(fields)
    return Service.objects.create(**values)


def oauth2_service(
    tenant, server, *, grant_type="authorization_code", skip_authorization=True, **fields
) -> Service:
    """A custom OAuth2 service pointing at the loopback server, with its application registered
    there (redirect URI = the service's callback on the test client's host)."""
    client_id = f"cid-{secrets.token_hex(6)}"
    client_secret = secrets.token_urlsafe(24)
    values = {
        "auth_scheme": "oauth2",
        "grant_type": grant_type,
        "authorize_url": server.authorize_url,
        "token_url": server.token_url,
        "revoke_url": server.revoke_url,
        "base_url": server.base_url + "/api",
        "client_id": client_id,
        "client_secret": client_secret,
        "scopes_available": ["read", "write"],
        "scopes_default": ["read", "write"],
    }
    values.update(fields)
    service = custom_service(tenant, **values)
    server.create_application(
        grant_type=grant_type.replace("_", "-"),
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=[callback_url(service)],
        skip_authorization=skip_authorization,
    )
    return service


def callback_url(service) -> str:
    return CALLBACK_HOST + reverse("oauth-callback", kwargs={"service_id": service.pk})


def org_kwargs(tenant) -> dict:
    return {"organization_slug": tenant.organization.slug}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_flow(client, tenant, service, **payload) -> dict:
    response = client.post(
        reverse("authentication-oauth-start", kwargs=org_kwargs(tenant)),
        {"service": str(service.pk), **payload},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def authorize_redirect(client, server, start: dict, resource_owner, approve=True) -> str:
    """Follow our start route to the provider, play the resource owner, and return the provider's
    redirect back to our callback (not yet followed)."""
    response = client.get(path_of(start["start_url"]))
    assert response.status_code == 302, response.content
    assert response["Referrer-Policy"] == "no-referrer"
    return server.authorize(
        response["Location"], resource_owner["username"], resource_owner["password"], approve
    )


def connect(client, tenant, service, server, resource_owner, **payload):
    """The whole browser flow; returns (callback response, start)."""
    start = start_flow(client, tenant, service, **payload)
    redirect = authorize_redirect(client, server, start, resource_owner)
    return client.get(path_of(redirect)), start


def auth_from_result(client, response) -> Authentication:
    assert response.status_code == 302, response.content
    page = client.get(response["Location"])
    assert page.status_code == 200, page.content
    transaction_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return OAuthTransaction.objects.get(pk=transaction_id).result_authentication
