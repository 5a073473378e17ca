"""The services admin: org owners see their organization's custom services and the catalog
(read-only), never another organization's services; saves go through the domain rules; the client
secret is write-only and masked; warnings are shown."""

import pytest
from django.urls import reverse

from services.models import Service, ServiceSource
from tests.services.builders import make_custom_service
from workspaces.models import Workspace, WorkspaceKind

pytestmark = pytest.mark.django_db

SECRET = "admin-client-secret-value"


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def parameter_rows(*rows: dict) -> dict:
    """The inline parameter rows of the admin form, as the browser posts them."""
    data = {
        "parameters-TOTAL_FORMS": str(len(rows)),
        "parameters-INITIAL_FORMS": "0",
        "parameters-MIN_NUM_FORMS": "0",
        "parameters-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in {"type": "string", "required": "on", **row}.items():
            data[f"parameters-{index}-{key}"] = value
    return data


def form_data(organization, **overrides):
    data = {
        "organization": organization.pk,
        "workspace": "",
        "name": "Admin CRM",
        "slug": "",
        "auth_scheme": "oauth2",
        "grant_type": "authorization_code",
        "pkce": "on",
        "authorize_url": "https://crm.admin.example/oauth/authorize",
        "token_url": "https://crm.admin.example/oauth/token",
        "scopes_available": "read",
        "scopes_default": "read",
        "scope_separator": " ",
        "client_auth_method": "basic",
        "client_id": "admin-client",
        "base_url": "https://crm.admin.example/api",
        "credential_placement": "header",
        "credential_header_name": "Authorization",
        "credential_prefix": "Bearer",
        "default_token_lifetime": "3600",
        "expired_status_codes": "401",
        "umbrella_status": "unknown",
        "new_client_secret": SECRET,
        **parameter_rows(),
    }
    data.update(overrides)
    return data


def test_owner_sees_own_custom_services_and_connectors_only(owner_client, tenant, other_tenant):
    make_custom_service(tenant, name="Ours")
    make_custom_service(other_tenant, name="Theirs")
    page = owner_client.get(reverse("admin:services_service_changelist") + "?all=").content.decode()
    assert "Ours" in page and "Google" in page
    assert "Theirs" not in page


def test_other_organizations_service_page_is_invisible(owner_client, other_tenant):
    foreign = make_custom_service(other_tenant, name="Theirs")
    response = owner_client.get(reverse("admin:services_service_change", args=[foreign.pk]))
    assert response.status_code in (302, 404)
    assert "Theirs" not in response.content.decode()


def test_owner_adds_oauth2_custom_service_through_admin(owner_client, tenant):
    response = owner_client.post(
        reverse("admin:services_service_add"), form_data(tenant.organization)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(organization=tenant.organization, name="Admin CRM")
    assert service.owner == tenant.owner
    assert service.workspace.kind == WorkspaceKind.PERSONAL
    assert service.client_secret is not None


def test_embedded_owner_adds_token_service_through_admin(client, embedded_tenant):
    client.force_login(embedded_tenant.owner)
    data = form_data(
        embedded_tenant.organization,
        name="Embedded Token",
        auth_scheme="token",
        grant_type="",
        credential_header_name="X-Api-Key",
    )
    response = client.post(reverse("admin:services_service_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(name="Embedded Token")
    assert service.workspace.kind == WorkspaceKind.EMBEDDED


def test_admin_shows_rule_violation_and_saves_nothing(owner_client, tenant):
    organization_workspace = Workspace.objects.get(
        organization=tenant.organization, kind=WorkspaceKind.ORGANIZATION
    )
    response = owner_client.post(
        reverse("admin:services_service_add"),
        form_data(tenant.organization, workspace=organization_workspace.pk),
    )
    assert response.status_code == 200
    assert "personal workspace" in response.content.decode()
    invalid = owner_client.post(
        reverse("admin:services_service_add"), form_data(tenant.organization, token_url="")
    )
    assert "token URL" in invalid.content.decode()
    assert not Service.objects.filter(name="Admin CRM").exists()


def test_change_page_masks_secret_and_shows_warnings(owner_client, tenant):
    service = make_custom_service(tenant, secret=SECRET)
    page = owner_client.get(reverse("admin:services_service_change", args=[service.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert SECRET not in html
    assert Service.objects.get(pk=service.pk).client_secret.ciphertext not in html
    assert "set (hidden)" in html
    assert "owned_by_personal_account" in html


def test_change_through_admin_keeps_secret_when_left_empty(owner_client, tenant):
    service = make_custom_service(tenant, secret=SECRET)
    before = Service.objects.get(pk=service.pk).client_secret
    data = form_data(tenant.organization, name="Renamed", new_client_secret="")
    data["authorize_url"] = service.authorize_url
    data["token_url"] = service.token_url
    data["base_url"] = service.base_url
    data["scopes_available"] = "contacts.read, contacts.write"
    data["scopes_default"] = "contacts.read"
    data.update(parameter_rows({"name": "subdomain"}))
    data["slug"] = service.slug
    response = owner_client.post(reverse("admin:services_service_change", args=[service.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = Service.objects.get(pk=service.pk)
    assert changed.name == "Renamed" and changed.client_secret == before


def test_connectors_are_read_only_for_org_owners(owner_client):
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    url = reverse("admin:services_service_change", args=[google.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert 'name="token_url"' not in page.content.decode()
    owner_client.post(url, {"name": "Hijacked"})
    assert Service.objects.get(pk=google.pk).name == "Google"
    deleted = owner_client.post(
        reverse("admin:services_service_delete", args=[google.pk]), {"post": "yes"}
    )
    assert deleted.status_code in (302, 403)
    assert Service.objects.filter(pk=google.pk).exists()


def test_superuser_may_correct_a_connector(client, django_user_model):
    root = django_user_model.objects.create_superuser(email="root@example.com", password="pw")
    client.force_login(root)
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    page = client.get(reverse("admin:services_service_change", args=[google.pk]))
    assert 'name="token_url"' in page.content.decode()


def test_superuser_connector_save_is_validated(client, django_user_model):
    import json

    from services.validation import DEFINITION_FIELDS

    root = django_user_model.objects.create_superuser(email="root2@example.com", password="pw")
    client.force_login(root)
    zendesk = Service.objects.get(source=ServiceSource.CONNECTOR, slug="zendesk")
    data = {}
    for field in DEFINITION_FIELDS:
        value = getattr(zendesk, field)
        if isinstance(value, (list, dict)):
            data[field] = json.dumps(value)
        elif isinstance(value, bool):
            if value:
                data[field] = "on"
        elif value is not None:
            data[field] = str(value)
    url = reverse("admin:services_service_change", args=[zendesk.pk])
    refused = client.post(url, {**data, "token_url": "https://{{tenant}}.zendesk.com/t"})
    assert refused.status_code == 200 and "{{tenant}}" in refused.content.decode()
    saved = client.post(url, {**data, "description": "Corrected"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Service.objects.get(pk=zendesk.pk).description == "Corrected"


def test_admin_keeps_a_space_scope_separator(owner_client, tenant):
    """Django's form CharField strips whitespace by default: a space separator became ""."""
    response = owner_client.post(
        reverse("admin:services_service_add"), form_data(tenant.organization)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Service.objects.get(name="Admin CRM").scope_separator == " "
