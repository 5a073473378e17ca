"""The authentication admin: org owners see their organization's auths with status, reason,
expiry and warnings, never a secret; other organizations' auths are invisible."""

import pytest
from django.urls import reverse

from auths.models import Authentication
from tests.connections.helpers import custom_service, organization_workspace

pytestmark = pytest.mark.django_db


def make_auth(tenant, **fields):
    service = custom_service(tenant, base_url="https://api.example.com", **fields)
    return Authentication.objects.create(
        organization=tenant.organization,
        workspace=organization_workspace(tenant),
        service=service,
        owner=tenant.membership(tenant.owner),
        name=f"Auth of {tenant.organization.name}",
        api_key="admin-secret-key-123",
        access_token="admin-secret-token-456",
        status="needs_reauth",
        status_reason="The provider refused the refresh.",
    )


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_owner_sees_status_and_warnings_but_no_secret(owner_client, tenant, other_tenant):
    auth = make_auth(tenant, auth_scheme="oauth1", discouraged_acknowledged=True)
    foreign = make_auth(other_tenant)

    listing = owner_client.get(reverse("admin:auths_authentication_changelist")).content.decode()
    assert auth.name in listing and foreign.name not in listing
    assert "The provider refused the refresh." in listing
    assert "discouraged" in listing
    page = owner_client.get(reverse("admin:auths_authentication_change", args=[auth.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "Needs re-authentication" in content
    for secret in ("admin-secret-key-123", "admin-secret-token-456", "v1:"):
        assert secret not in listing and secret not in content


def test_other_organizations_auth_is_invisible(owner_client, other_tenant):
    foreign = make_auth(other_tenant)
    response = owner_client.get(reverse("admin:auths_authentication_change", args=[foreign.pk]))
    assert response.status_code in (302, 404)
    owner_client.post(
        reverse("admin:auths_authentication_delete", args=[foreign.pk]), {"post": "yes"}
    )
    assert Authentication.objects.filter(pk=foreign.pk).exists()


def test_rename_goes_through_the_domain_function(owner_client, tenant):
    auth = make_auth(tenant)
    response = owner_client.post(
        reverse("admin:auths_authentication_change", args=[auth.pk]), {"name": "Renamed here"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    auth.refresh_from_db()
    assert auth.name == "Renamed here"
    assert auth.api_key.reveal() == "admin-secret-key-123"


def test_delete_goes_through_the_domain_function(owner_client, tenant):
    auth = make_auth(tenant)
    owner_client.post(reverse("admin:auths_authentication_delete", args=[auth.pk]), {"post": "yes"})
    assert not Authentication.objects.filter(pk=auth.pk).exists()
    assert auth.pk in [e.authentication_ref for e in tenant.organization.auth_events.all()]
