"""This app's API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs.

The browser routes (oauth-start, oauth-callback, oauth-result) are scoped to the logged-in person:
a member of another organization and an organization API key get 404 there too."""

from datetime import timedelta

from django.utils import timezone

from auths.models import Authentication, OAuthTransaction
from tests.connections.helpers import custom_service, organization_workspace


def _org(t):
    return {"organization_slug": t.organization.slug}


def _auth(t):
    """A token auth in the organization workspace: visible to every member of the victim."""
    service = custom_service(t, base_url="https://api.example.com")
    auth = Authentication.objects.create(
        organization=t.organization,
        workspace=organization_workspace(t),
        service=service,
        owner=t.membership(t.owner),
        name="Victim auth",
        api_key="victim-key-123",
    )
    return {**_org(t), "pk": auth.pk}


def _transaction(t):
    service = custom_service(
        t, auth_scheme="oauth2", grant_type="authorization_code",
        authorize_url="https://idp.example/authorize", token_url="https://idp.example/token",
    )  # fmt: skip
    txn = OAuthTransaction.objects.create(
        state_hash=f"{service.pk.hex}{service.pk.hex}",
        organization=t.organization,
        workspace=organization_workspace(t),
        service=service,
        started_by=t.owner,
        token_url=service.token_url,
        redirect_uri="https://platform.example/callback",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    return {"transaction_id": txn.pk}


ENDPOINTS = {
    "authentication-list": (["get"], _org),
    "authentication-token": (["post"], _org),
    "authentication-generic": (["post"], _org),
    "authentication-client-credentials": (["post"], _org),
    "authentication-password": (["post"], _org),
    "authentication-oauth-start": (["post"], _org),
    "authentication-detail": (["get", "patch", "delete"], _auth),
    "authentication-move": (["post"], _auth),
    "authentication-reauthenticate": (["post"], _auth),
    "authentication-disable": (["post"], _auth),
    "authentication-enable": (["post"], _auth),
    "authentication-request": (["post"], _auth),
    "oauth-start": (["get"], _transaction),
    "oauth-callback": (["get"], lambda t: {"service_id": custom_service(t).pk}),
    "oauth-result": (["get"], _transaction),
}
