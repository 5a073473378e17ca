"""The connector catalog: real providers as data, loaded idempotently on migrate and by a command."""

from io import StringIO

import pytest
from django.core.management import call_command

from services.catalog import CatalogError, catalog_entries, catalog_load
from services.models import Service, ServiceSource

pytestmark = pytest.mark.django_db

DAY = 86400


def connector(slug) -> Service:
    return Service.objects.get(source=ServiceSource.CONNECTOR, slug=slug)


def test_catalog_is_loaded_by_migrate_with_at_least_twelve_providers():
    connectors = Service.objects.filter(source=ServiceSource.CONNECTOR)
    assert connectors.count() >= 12
    assert connectors.count() == len(catalog_entries())
    assert not connectors.filter(organization__isnull=False).exists()


def test_loading_twice_creates_no_duplicates():
    before = Service.objects.filter(source=ServiceSource.CONNECTOR).count()
    first = catalog_load()
    second = catalog_load()
    assert Service.objects.filter(source=ServiceSource.CONNECTOR).count() == before
    assert first.created == [] and second.created == [] and second.updated == []
    assert len(second.unchanged) == before


def test_load_restores_a_changed_connector_and_keeps_its_id():
    google = connector("google")
    Service.objects.filter(pk=google.pk).update(token_url="https://evil.example/token")
    result = catalog_load()
    assert result.updated == ["google"]
    assert connector("google").pk == google.pk
    assert connector("google").token_url == "https://oauth2.googleapis.com/token"


def test_load_recreates_a_missing_connector():
    Service.objects.filter(source=ServiceSource.CONNECTOR, slug="notion").delete()
    assert catalog_load().created == ["notion"]


def test_management_command_is_idempotent():
    out = StringIO()
    call_command("load_catalog", stdout=out)
    call_command("load_catalog", stdout=out)
    assert "0 created, 0 updated" in out.getvalue()


def test_invalid_catalog_file_is_refused_naming_file_and_field(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "slug: broken\nname: Broken\nauth_scheme: oauth2\ngrant_type: authorization_code\n"
        "authorize_url: https://a.example/a\n"
    )
    with pytest.raises(CatalogError, match="broken.yaml: token_url"):
        catalog_entries(tmp_path)
    (tmp_path / "broken.yaml").write_text("slug: x\nname: X\nauth_scheme: token\nfavourite: 1\n")
    with pytest.raises(CatalogError, match="unknown field"):
        catalog_entries(tmp_path)


def test_google_testing_status_lifetimes_and_offline_access():
    google = connector("google")
    assert google.test_refresh_token_lifetime == 7 * DAY
    assert {"openid", "email", "profile"} <= set(google.test_exempt_scopes)
    assert "https://www.googleapis.com/auth/userinfo.email" in google.test_exempt_scopes
    assert "https://www.googleapis.com/auth/userinfo.profile" in google.test_exempt_scopes
    assert google.authorize_params["access_type"] == "offline"
    assert google.authorize_params["prompt"] == "consent"
    assert google.pkce is True


def test_microsoft_tenant_parameter_and_offline_access():
    microsoft = connector("microsoft")
    assert "{{tenant}}" in microsoft.authorize_url and "{{tenant}}" in microsoft.token_url
    assert microsoft.parameters[0]["name"] == "tenant"
    assert microsoft.parameters[0]["default"] == "common"
    assert "offline_access" in microsoft.scopes_default


def test_salesforce_instance_url_comes_from_the_token_response():
    salesforce = connector("salesforce")
    assert salesforce.token_response_parameters == {"instance_url": "instance_url"}
    assert salesforce.base_url.startswith("{{instance_url}}")


def test_xero_rotating_refresh_tokens_with_60_day_idle_expiry():
    xero = connector("xero")
    assert xero.rotates_refresh_tokens is True
    assert xero.refresh_token_idle_timeout == 60 * DAY
    assert xero.access_token_lifetime == 30 * 60


def test_zendesk_subdomain_and_default_lifetime():
    zendesk = connector("zendesk")
    assert "{{subdomain}}" in zendesk.token_url
    assert zendesk.parameters[0]["name"] == "subdomain"
    assert zendesk.default_token_lifetime > 0


def test_airtable_pkce_rotating_60_day_refresh_tokens():
    airtable = connector("airtable")
    assert airtable.pkce is True and airtable.rotates_refresh_tokens is True
    assert airtable.refresh_token_idle_timeout == 60 * DAY


def test_shopify_shop_parameter_and_header():
    shopify = connector("shopify")
    assert "{{shop}}.myshopify.com" in shopify.authorize_url
    assert shopify.credential_header_name == "X-Shopify-Access-Token"
    assert shopify.credential_prefix == "" and shopify.scope_separator == ","


def test_atlassian_audience_offline_access_rotation():
    atlassian = connector("atlassian")
    assert atlassian.authorize_params["audience"] == "api.atlassian.com"
    assert "offline_access" in atlassian.scopes_default
    assert atlassian.rotates_refresh_tokens is True


def test_every_connector_has_https_urls_and_a_positive_default_lifetime():
    for service in Service.objects.filter(source=ServiceSource.CONNECTOR):
        assert service.default_token_lifetime > 0, service.slug
        assert service.documentation_url.startswith("https://"), service.slug
        for url in (service.authorize_url, service.token_url, service.base_url):
            assert url == "" or url.startswith(("https://", "{{")), service.slug
