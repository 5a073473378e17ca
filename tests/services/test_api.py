"""The services API: catalog, picker view, custom-service CRUD within the rules, transfer, write-only
secrets, warnings on every service returned, and isolation between organizations."""

import pytest
from django.urls import reverse

from services.models import Service, ServiceSource
from tests.services.builders import make_custom_service, oauth2_definition, token_definition
from workspaces.models import OrganizationAPIKey, Workspace, WorkspaceKind
from workspaces.organizations import organization_update

pytestmark = pytest.mark.django_db

SECRET = "very-secret-client-value"


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def no_secret_in(response):
    assert SECRET not in response.content.decode()
    assert 'client_secret"' not in response.content.decode().replace("has_client_secret", "")


# --- catalog --------------------------------------------------------------------------------------


def test_catalog_lists_at_least_twelve_connectors(tenant, api):
    response = api.as_user(tenant.viewer).get(url("service-catalog-list", tenant), {"limit": 100})
    assert response.status_code == 200
    slugs = {s["slug"] for s in response.json()["results"]}
    assert len(slugs) >= 12
    assert {"google", "microsoft", "slack", "github", "salesforce", "hubspot", "xero"} <= slugs
    assert {"zendesk", "airtable", "shopify", "atlassian"} <= slugs
    assert all(s["source"] == "connector" for s in response.json()["results"])


def test_catalog_search(tenant, api):
    response = api.as_user(tenant.viewer).get(
        url("service-catalog-list", tenant), {"search": "jira"}
    )
    assert [s["slug"] for s in response.json()["results"]] == ["atlassian"]


def test_catalog_detail_by_slug(tenant, api):
    response = api.as_user(tenant.viewer).get(
        url("service-catalog-detail", tenant, connector_slug="salesforce")
    )
    body = response.json()
    assert body["token_response_parameters"] == {"instance_url": "instance_url"}
    assert body["base_url"].startswith("{{instance_url}}")
    assert body["warnings"] == []


def test_catalog_is_read_only(tenant, api):
    client = api.as_user(tenant.owner)
    detail = url("service-catalog-detail", tenant, connector_slug="google")
    assert client.patch(detail, {"name": "Mine"}, format="json").status_code == 405
    assert client.delete(detail).status_code == 405
    assert client.post(url("service-catalog-list", tenant), {}, format="json").status_code == 405
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            url("custom-service-detail", tenant, pk=google.pk), {}, format="json"
        )
        assert response.status_code == 404
    assert Service.objects.get(pk=google.pk).name == "Google"


# --- create ---------------------------------------------------------------------------------------


def test_platform_builder_creates_oauth2_and_token_services(tenant, api):
    client = api.as_user(tenant.contributor)
    oauth = client.post(
        url("custom-service-list", tenant),
        {**oauth2_definition(), "client_secret": SECRET},
        format="json",
    )
    assert oauth.status_code == 201, oauth.content
    body = oauth.json()
    assert body["has_client_secret"] is True and body["owner_email"] == tenant.contributor.email
    assert body["source"] == "custom" and body["pkce"] is True
    personal = Workspace.objects.get(personal_owner=tenant.membership(tenant.contributor))
    assert body["workspace"] == str(personal.pk)
    no_secret_in(oauth)
    token = client.post(url("custom-service-list", tenant), token_definition(), format="json")
    assert token.status_code == 201, token.content
    assert token.json()["credential_header_name"] == "X-Api-Key"


def test_embedded_owner_creates_oauth2_and_token_services(embedded_tenant, api):
    client = api.as_user(embedded_tenant.owner)
    oauth = client.post(
        url("custom-service-list", embedded_tenant),
        {**oauth2_definition(), "client_secret": SECRET},
        format="json",
    )
    assert oauth.status_code == 201, oauth.content
    embedded = Workspace.objects.get(
        organization=embedded_tenant.organization, kind=WorkspaceKind.EMBEDDED
    )
    assert oauth.json()["workspace"] == str(embedded.pk)
    token = client.post(
        url("custom-service-list", embedded_tenant), token_definition(), format="json"
    )
    assert token.status_code == 201


def test_embedded_non_owner_is_refused_with_a_clear_message(embedded_tenant, api):
    response = api.as_user(embedded_tenant.admin).post(
        url("custom-service-list", embedded_tenant), oauth2_definition(), format="json"
    )
    assert response.status_code == 403
    assert "Only the organization owner" in response.json()["error"]["message"]


def test_platform_refuses_organization_workspace_naming_the_field(tenant, api):
    workspace = Workspace.objects.get(
        organization=tenant.organization, kind=WorkspaceKind.ORGANIZATION
    )
    response = api.as_user(tenant.owner).post(
        url("custom-service-list", tenant),
        {**oauth2_definition(), "workspace": str(workspace.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "workspace" in response.json()["error"]["fields"]
    assert "personal workspace" in response.json()["error"]["message"]


def test_workspace_of_another_organization_is_a_field_error(tenant, other_tenant, api):
    foreign = Workspace.objects.get(personal_owner=other_tenant.membership(other_tenant.owner))
    response = api.as_user(tenant.owner).post(
        url("custom-service-list", tenant),
        {**oauth2_definition(), "workspace": str(foreign.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "workspace" in response.json()["error"]["fields"]


def test_validation_errors_name_the_field(tenant, api):
    response = api.as_user(tenant.contributor).post(
        url("custom-service-list", tenant), oauth2_definition(token_url=""), format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"token_url": [error["message"]]}
    assert "token URL" in error["message"]


def test_ssrf_host_is_refused_through_the_api(tenant, api, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    response = api.as_user(tenant.contributor).post(
        url("custom-service-list", tenant),
        token_definition(base_url="https://169.254.169.254/latest"),
        format="json",
    )
    assert response.status_code == 400
    assert "base_url" in response.json()["error"]["fields"]


def test_discouraged_scheme_needs_acknowledgement_and_carries_a_warning(tenant, api):
    client = api.as_user(tenant.contributor)
    definition = {
        **oauth2_definition(grant_type="password", authorize_url=""),
        "client_secret": SECRET,
    }
    refused = client.post(url("custom-service-list", tenant), definition, format="json")
    assert refused.status_code == 400
    assert "discouraged_acknowledged" in refused.json()["error"]["fields"]
    created = client.post(
        url("custom-service-list", tenant),
        {**definition, "discouraged_acknowledged": True},
        format="json",
    )
    assert created.status_code == 201
    codes = [w["code"] for w in created.json()["warnings"]]
    assert "discouraged_scheme" in codes
    picker = client.get(url("service-detail", tenant, pk=created.json()["id"]))
    assert "discouraged_scheme" in [w["code"] for w in picker.json()["warnings"]]


def test_bring_your_own_oauth_app_through_the_api(tenant, api):
    response = api.as_user(tenant.contributor).post(
        url("custom-service-list", tenant),
        {"template": "xero", "client_id": "our-xero-app", "client_secret": SECRET},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["template"] == "xero" and body["rotates_refresh_tokens"] is True
    assert body["client_id"] == "our-xero-app"


# --- read: full view vs picker view ---------------------------------------------------------------


def test_owner_org_owner_and_admin_see_the_full_definition(tenant, api, service):
    for user in (tenant.contributor, tenant.owner, tenant.admin):
        response = api.as_user(user).get(url("custom-service-detail", tenant, pk=service.pk))
        assert response.status_code == 200
        assert response.json()["token_url"].endswith("/oauth/token")
        assert response.json()["client_id"] == "acme-client-id"
        no_secret_in(response)


def test_other_members_get_only_the_picker_view(tenant, api, service):
    other = make_custom_service(tenant, tenant.admin, name="Admin service")
    client = api.as_user(tenant.viewer)
    refused = client.get(url("custom-service-detail", tenant, pk=service.pk))
    assert refused.status_code == 403
    assert "pick it" in refused.json()["error"]["message"]
    listed = client.get(url("custom-service-list", tenant)).json()["results"]
    assert listed == []
    mine = api.as_user(tenant.contributor).get(url("custom-service-list", tenant)).json()
    assert [s["name"] for s in mine["results"]] == ["Acme CRM"]
    assert other.name not in str(mine)
    client = api.as_user(tenant.viewer)  # one client: log the viewer back in
    picker = client.get(url("service-detail", tenant, pk=service.pk))
    assert picker.status_code == 200
    body = picker.json()
    assert set(body) == {
        "id",
        "source",
        "slug",
        "name",
        "icon",
        "description",
        "documentation_url",
        "auth_scheme",
        "grant_type",
        "scopes_available",
        "scopes_default",
        "parameters",
        "umbrella_status",
        "can_manage",
        "warnings",
    }
    assert body["can_manage"] is False and body["parameters"][0]["name"] == "subdomain"


def test_picker_lists_connectors_and_the_organizations_custom_services(
    tenant, other_tenant, api, service
):
    foreign = make_custom_service(other_tenant, name="Foreign service")
    response = api.as_user(tenant.viewer).get(url("service-list", tenant), {"limit": 200})
    names = [s["name"] for s in response.json()["results"]]
    assert "Acme CRM" in names and "Google" in names
    assert foreign.name not in names
    custom_only = api.as_user(tenant.viewer).get(url("service-list", tenant), {"source": "custom"})
    assert [s["name"] for s in custom_only.json()["results"]] == ["Acme CRM"]


def test_another_organizations_service_is_404_everywhere(tenant, other_tenant, api):
    foreign = make_custom_service(other_tenant)
    client = api.as_user(tenant.owner)
    for name in ("custom-service-detail", "service-detail"):
        assert client.get(url(name, tenant, pk=foreign.pk)).status_code == 404
    assert (
        client.patch(
            url("custom-service-detail", tenant, pk=foreign.pk), {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    assert client.delete(url("custom-service-detail", tenant, pk=foreign.pk)).status_code == 404
    assert (
        client.post(
            url("custom-service-transfer-ownership", tenant, pk=foreign.pk),
            {"to_service_account": True},
            format="json",
        ).status_code
        == 404
    )
    assert Service.objects.filter(pk=foreign.pk, name="Acme CRM").exists()


def test_organization_api_key_sees_its_own_services(tenant, api, service):
    _, key = OrganizationAPIKey.objects.create_key(name="k", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.get(url("custom-service-list", tenant))
    assert [s["id"] for s in response.json()["results"]] == [str(service.pk)]


# --- update, delete, transfer ---------------------------------------------------------------------


def test_secret_is_write_only_on_update(tenant, api, service):
    client = api.as_user(tenant.contributor)
    detail = url("custom-service-detail", tenant, pk=service.pk)
    before = Service.objects.get(pk=service.pk).client_secret
    kept = client.patch(detail, {"description": "CRM"}, format="json")
    assert kept.status_code == 200 and kept.json()["has_client_secret"] is True
    assert Service.objects.get(pk=service.pk).client_secret == before
    replaced = client.patch(detail, {"client_secret": SECRET}, format="json")
    no_secret_in(replaced)
    assert Service.objects.get(pk=service.pk).client_secret != before
    cleared = client.patch(detail, {"client_secret": None}, format="json")
    assert cleared.json()["has_client_secret"] is False


def test_update_refusals(tenant, api, service):
    client = api.as_user(tenant.contributor)
    detail = url("custom-service-detail", tenant, pk=service.pk)
    invalid = client.patch(detail, {"authorize_url": "http://x.example/a"}, format="json")
    assert invalid.status_code == 400 and "authorize_url" in invalid.json()["error"]["fields"]
    moved = client.patch(detail, {"template": "google"}, format="json")
    assert moved.status_code == 400 and "template" in moved.json()["error"]["fields"]
    other = api.as_user(tenant.viewer).patch(detail, {"name": "Mine"}, format="json")
    assert other.status_code == 403


@pytest.mark.parametrize("field", ["token_response_parameters", "scopes_available", "token_params"])
@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_null_for_a_list_or_mapping_is_refused_naming_the_field(
    tenant, api, service, field, encoding
):
    """Found by the fuzzer: null reached the database as NULL (a 500)."""
    response = api.as_user(tenant.contributor).patch(
        url("custom-service-detail", tenant, pk=service.pk),
        {field: None} if encoding == "json" else {field: "null"},
        format=encoding,
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_delete_by_owner_and_refusal_for_others(tenant, api, service):
    detail = url("custom-service-detail", tenant, pk=service.pk)
    assert api.as_user(tenant.viewer).delete(detail).status_code == 403
    assert api.as_user(tenant.contributor).delete(detail).status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()


def test_transfer_ownership_through_the_api(tenant, api, service):
    transfer = url("custom-service-transfer-ownership", tenant, pk=service.pk)
    client = api.as_user(tenant.contributor)
    refused = client.post(transfer, {"to_service_account": True}, format="json")
    assert refused.status_code == 400
    assert "to_service_account" in refused.json()["error"]["fields"]
    done = client.post(transfer, {"membership": tenant.membership(tenant.admin).pk}, format="json")
    assert done.status_code == 200 and done.json()["owner_email"] == tenant.admin.email


def test_warning_when_owned_by_a_personal_account(tenant, api, service):
    client = api.as_user(tenant.owner)
    detail = url("custom-service-detail", tenant, pk=service.pk)
    warnings = client.get(detail).json()["warnings"]
    assert [w["code"] for w in warnings] == ["owned_by_personal_account"]
    assert "Name a service account" in warnings[0]["message"]
    organization_update(
        actor=tenant.actor(tenant.owner),
        organization=tenant.organization,
        service_account=tenant.admin,
    )
    warnings = client.get(detail).json()["warnings"]
    assert "instead of the service account" in warnings[0]["message"]
    client.post(
        url("custom-service-transfer-ownership", tenant, pk=service.pk),
        {"to_service_account": True},
        format="json",
    )
    assert client.get(detail).json()["warnings"] == []


def test_deactivation_refusal_names_the_services(tenant, api, service):
    response = api.as_user(tenant.owner).post(
        reverse(
            "member-deactivate",
            kwargs={
                "organization_slug": tenant.organization.slug,
                "pk": tenant.membership(tenant.contributor).pk,
            },
        )
    )
    assert response.status_code == 400
    assert "'Acme CRM'" in response.json()["error"]["message"]


def test_schema_generates(api, tenant):
    response = api.as_user(tenant.owner).get(reverse("schema"))
    assert response.status_code == 200
    assert b"custom-services" in response.content


def test_embedded_service_is_picked_by_everyone_and_governed_by_admins(embedded_tenant, api):
    created = api.as_user(embedded_tenant.owner).post(
        url("custom-service-list", embedded_tenant),
        {**oauth2_definition(), "client_secret": SECRET},
        format="json",
    )
    service_id = created.json()["id"]
    picker = api.as_user(embedded_tenant.contributor).get(
        url("service-list", embedded_tenant), {"source": "custom"}
    )
    assert [s["id"] for s in picker.json()["results"]] == [service_id]
    no_secret_in(picker)
    detail = url("custom-service-detail", embedded_tenant, pk=service_id)
    assert api.as_user(embedded_tenant.contributor).get(detail).status_code == 403
    edited = api.as_user(embedded_tenant.admin).patch(detail, {"name": "Governed"}, format="json")
    assert edited.status_code == 200 and edited.json()["name"] == "Governed"


def test_organization_api_key_cannot_create_custom_services(embedded_tenant, api):
    _, key = OrganizationAPIKey.objects.create_key(
        name="backend", organization=embedded_tenant.organization
    )
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.post(
        url("custom-service-list", embedded_tenant), token_definition(), format="json"
    )
    assert response.status_code == 403
    assert "organization owner" in response.json()["error"]["message"]


# --- what is saved is what was sent; defaults are shown as they apply ----------------------------


@pytest.mark.parametrize("separator", [" ", ",", "+", "%20"])
def test_scope_separator_is_saved_and_shown_as_sent(tenant, api, separator):
    """DRF's CharField strips whitespace by default: a space separator became ""."""
    client = api.as_user(tenant.contributor)
    created = client.post(
        url("custom-service-list", tenant),
        oauth2_definition(scope_separator=separator),
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["scope_separator"] == separator
    assert Service.objects.get(pk=created.json()["id"]).scope_separator == separator
    detail = url("custom-service-detail", tenant, pk=created.json()["id"])
    assert client.get(detail).json()["scope_separator"] == separator


def test_scope_separator_changed_back_to_a_space_is_a_space(tenant, api, service):
    client = api.as_user(tenant.contributor)
    detail = url("custom-service-detail", tenant, pk=service.pk)
    assert client.patch(detail, {"scope_separator": ","}, format="json").status_code == 200
    changed = client.patch(detail, {"scope_separator": " "}, format="json")
    assert changed.status_code == 200 and changed.json()["scope_separator"] == " "
    assert Service.objects.get(pk=service.pk).scope_separator == " "


def test_expired_status_codes_show_the_default_that_applies(tenant, api):
    """Nothing sent: 401 is what refreshes, so the API says [401], not []."""
    client = api.as_user(tenant.contributor)
    created = client.post(url("custom-service-list", tenant), token_definition(), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["expired_status_codes"] == [401]
    detail = url("custom-service-detail", tenant, pk=created.json()["id"])
    assert client.get(detail).json()["expired_status_codes"] == [401]


def test_expired_status_codes_sent_are_shown_as_sent(tenant, api):
    client = api.as_user(tenant.contributor)
    created = client.post(
        url("custom-service-list", tenant),
        token_definition(expired_status_codes=[401, 419]),
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["expired_status_codes"] == [401, 419]
    detail = url("custom-service-detail", tenant, pk=created.json()["id"])
    cleared = client.patch(detail, {"expired_status_codes": []}, format="json")
    assert cleared.status_code == 200 and cleared.json()["expired_status_codes"] == [401]


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        (r"([a-z])\1", "backreference"),
        (r"(?=[a-z])[a-z0-9]+", "lookaround"),
        (r"[a-z]++", "possessive"),
    ],
)
def test_a_pattern_the_linear_engine_cannot_run_is_refused_naming_its_field(
    tenant, api, pattern, hint
):
    definition = oauth2_definition(
        parameters=[{"name": "subdomain", "required": True, "pattern": pattern}]
    )
    response = api.as_user(tenant.contributor).post(
        url("custom-service-list", tenant), {**definition, "client_secret": SECRET}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["parameters[0].pattern"]
    assert hint in error["message"]
    assert not Service.objects.filter(source=ServiceSource.CUSTOM).exists()


@pytest.mark.timeout(60)  # the old placeholder scan took cubic time here: fail instead of hanging
def test_an_unclosed_placeholder_in_a_long_value_is_scanned_at_once(tenant, api):
    definition = oauth2_definition(authorize_params={"audience": "{{" + " " * 20_000})
    response = api.as_user(tenant.contributor).post(
        url("custom-service-list", tenant), {**definition, "client_secret": SECRET}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["authorize_params"]["audience"].startswith("{{")
