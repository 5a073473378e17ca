"""The admin's custom-service form by sign-in method (services/admin_forms.py): the method first,
then only its fields; lists typed as text; parameters as inline rows; every problem at once beside
its field, in words (never an API field name); the secret to type again; the redirect URI before
saving; a service made from a connector for the organization's own OAuth app."""

import html
import re

import pytest
from django.urls import reverse

from services.models import Service, ServiceSource
from services.validation import definition_problems
from tests.services.admin_form import posted_from
from tests.services.builders import make_custom_service, oauth2_definition
from tests.services.test_admin import SECRET, form_data, parameter_rows

pytestmark = pytest.mark.django_db

ADD = "admin:services_service_add"


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def add_url(**query) -> str:
    query = {"reserved_id": "6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10", **query}
    return reverse(ADD) + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def field_names(response) -> set[str]:
    return set(re.findall(r'name="([a-z_]+)"', response.content.decode()))


def text_of(response) -> str:
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def errors_of(response, field: str) -> list[str]:
    """The error messages shown beside one field (Django's admin: the field's errorlist)."""
    form = response.context["adminform"].form
    return [str(e) for e in form.errors.get(field, [])]


API_NAMES = (
    "token_url",
    "authorize_url",
    "client_id",
    "base_url",
    "scopes_available",
    "scopes_default",
    "default_token_lifetime",
    "discouraged_acknowledged",
    "parameters[",
    "EGRESS_",
)


def shown_errors(response) -> str:
    """Every error message of the form and of its parameter rows."""
    form = response.context["adminform"].form
    messages = [m for errors in form.errors.values() for m in errors]
    for row in form.parameter_formset.forms:
        messages += [m for errors in row.errors.values() for m in errors]
    return " ".join(messages)


# --- the method first ----------------------------------------------------------------------------


def test_adding_asks_for_the_sign_in_method_first(owner_client):
    opened = owner_client.get(reverse(ADD))
    step = owner_client.get(opened["Location"])
    assert step.status_code == 200
    page = text_of(step)
    assert "how do people sign in?" in page
    for title in (
        "OAuth 2.0: people sign in at the provider (authorization code)",
        "OAuth 2.0: machine to machine (client credentials)",
        "OAuth 2.0: user name and password (discouraged)",
        "OAuth 1.0a (discouraged)",
        "API key or token",
    ):
        assert title in page
    # Plain links carrying the reserved id: no JavaScript needed, and the id stays the same.
    reserved = opened["Location"].split("reserved_id=")[1]
    assert f"?reserved_id={reserved}&amp;scheme=token" in step.content.decode()
    assert 'name="name"' not in step.content.decode()


def test_a_token_service_shows_only_the_token_fields(owner_client):
    names = field_names(owner_client.get(add_url(scheme="token")))
    assert {"name", "base_url", "credential_placement", "credential_header_name"} <= names
    assert not names & {
        "authorize_url",
        "token_url",
        "client_id",
        "new_client_secret",
        "scopes_available",
        "umbrella_status",
        "pkce",
        "default_token_lifetime",
    }


def test_an_authorization_code_service_shows_its_fields_and_the_redirect_uri(owner_client):
    response = owner_client.get(add_url(scheme="authorization_code"))
    names = field_names(response)
    assert {"authorize_url", "token_url", "client_id", "pkce", "scopes_available"} <= names
    assert {"umbrella_status", "refresh_token_max_age", "new_client_secret"} <= names
    assert not names & {"request_token_url", "discouraged_acknowledged"}
    body = response.content.decode()
    assert "/api/oauth/callback/6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10/" in body
    assert 'data-copy="redirect-uri"' in body


def test_client_credentials_has_no_redirect_uri_nor_authorization_url(owner_client):
    response = owner_client.get(add_url(scheme="client_credentials"))
    names = field_names(response)
    assert "token_url" in names and "new_client_secret" in names
    assert "authorize_url" not in names
    assert "/api/oauth/callback/" not in response.content.decode()


def test_oauth1_asks_for_its_three_urls_and_the_acknowledgement(owner_client):
    response = owner_client.get(add_url(scheme="oauth1"))
    names = field_names(response)
    assert {"request_token_url", "authorize_url", "token_url", "discouraged_acknowledged"} <= names
    assert "Consumer key" in text_of(response) and "Access-token URL" in text_of(response)
    assert "scopes_available" not in names


def test_groups_help_texts_and_units(owner_client):
    page = text_of(owner_client.get(add_url(scheme="authorization_code")))
    for group in (
        "Identity",
        "Endpoints",
        "Your OAuth app",
        "Scopes",
        "Calling the API",
        "Token handling",
        "Umbrella application",
        "Parameters",
    ):
        assert group in page
    assert "Token lifetime when the provider does not say (seconds)" in page
    assert "Refresh-token maximum age (seconds)" in page
    assert "3600 = 1 hour" in page


def test_the_organization_is_preselected_when_the_owner_has_one(owner_client, tenant):
    form = owner_client.get(add_url(scheme="token")).context["adminform"].form
    assert form["organization"].value() == tenant.organization.pk


# --- lists and parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["read, write", "read write", "read\nwrite", '["read", "write"]'])
def test_scopes_are_typed_as_a_list(owner_client, tenant, typed):
    response = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(tenant.organization, scopes_available=typed, scopes_default="read"),
    )
    assert response.status_code == 302, text_of(response)[:2000]
    assert "valid JSON" not in text_of(response)
    service = Service.objects.get(name="Admin CRM")
    assert service.scopes_available == ["read", "write"]
    assert service.scopes_default == ["read"]


def test_mappings_and_status_codes_are_typed_as_lines(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(
            tenant.organization,
            authorize_params="access_type = offline\nprompt = consent",
            expired_status_codes="401, 403",
        ),
    )
    assert response.status_code == 302, text_of(response)[:2000]
    service = Service.objects.get(name="Admin CRM")
    assert service.authorize_params == {"access_type": "offline", "prompt": "consent"}
    assert service.expired_status_codes == [401, 403]


def test_parameters_are_saved_from_inline_rows(owner_client, tenant):
    data = form_data(
        tenant.organization,
        authorize_url="https://{{shop}}.crm.admin.example/oauth/authorize",
        **parameter_rows(
            {"name": "shop", "title": "Shop name", "pattern": "[a-z]+"},
            {"name": "region", "type": "string", "required": "", "default": "eu"},
            {"name": "", "title": ""},  # an empty row is ignored
        ),
    )
    data.pop("parameters-1-required")
    response = owner_client.post(add_url(scheme="authorization_code"), data)
    assert response.status_code == 302, text_of(response)[:2000]
    assert Service.objects.get(name="Admin CRM").parameters == [
        {
            "name": "shop",
            "type": "string",
            "required": True,
            "secret": False,
            "title": "Shop name",
            "pattern": "[a-z]+",
        },
        {"name": "region", "type": "string", "required": False, "secret": False, "default": "eu"},
    ]


def test_the_change_form_shows_the_parameters_as_rows_and_keeps_them(owner_client, tenant):
    service = make_custom_service(tenant, secret=SECRET)
    url = reverse("admin:services_service_change", args=[service.pk])
    page = owner_client.get(url)
    body = page.content.decode()
    assert 'name="parameters-0-name"' in body and 'value="subdomain"' in body
    data = posted_from(page.context["adminform"].form)
    data["name"] = "Renamed CRM"
    saved = owner_client.post(url, data)
    assert saved.status_code == 302, text_of(saved)[:2000]
    changed = Service.objects.get(pk=service.pk)
    assert changed.name == "Renamed CRM"
    assert changed.parameters == [
        {
            "name": "subdomain",
            "type": "string",
            "required": True,
            "secret": False,
            "title": "Acme subdomain",
        }
    ]
    assert changed.scopes_available == ["contacts.read", "contacts.write"]
    assert changed.client_secret == Service.objects.get(pk=service.pk).client_secret


# --- errors --------------------------------------------------------------------------------------


def test_every_problem_is_shown_at_once_beside_its_field(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(
            tenant.organization,
            token_url="",
            authorize_url="http://crm.admin.example/authorize",
            scopes_default="admin",
            default_token_lifetime="an hour",
            **parameter_rows({"name": "2bad"}),
        ),
    )
    assert response.status_code == 200
    assert "token URL" in errors_of(response, "token_url")[0]
    assert "https://" in errors_of(response, "authorize_url")[0]
    assert "not among the available scopes" in errors_of(response, "scopes_default")[0]
    assert errors_of(response, "default_token_lifetime") == ["Enter a whole number."]
    row = response.context["adminform"].form.parameter_formset.forms[0]
    assert "starts with a letter" in row.errors["name"][0]
    shown = shown_errors(response)
    for api_name in API_NAMES:
        assert api_name not in shown
    assert not Service.objects.filter(name="Admin CRM").exists()


def test_problems_found_by_the_domain_are_all_shown_together(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(tenant.organization, token_url="", client_id="", base_url="ftp://x.example"),
    )
    form = response.context["adminform"].form
    assert set(form.errors) >= {"token_url", "client_id", "base_url"}
    shown = shown_errors(response)
    for api_name in API_NAMES:
        assert api_name not in shown


def test_a_typed_secret_must_be_typed_again_after_an_error(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="authorization_code"), form_data(tenant.organization, token_url="")
    )
    assert any("type it again" in m for m in errors_of(response, "new_client_secret"))
    assert SECRET not in response.content.decode()
    without = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(tenant.organization, token_url="", new_client_secret=""),
    )
    assert not errors_of(without, "new_client_secret")


def test_a_discouraged_method_needs_the_acknowledgement_in_words(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="password"),
        form_data(tenant.organization, grant_type="password", authorize_url=""),
    )
    errors = errors_of(response, "discouraged_acknowledged")
    assert errors and "password grant is discouraged" in errors[0]
    assert "discouraged_acknowledged" not in errors[0]
    accepted = owner_client.post(
        add_url(scheme="password"),
        form_data(tenant.organization, grant_type="password", discouraged_acknowledged="on"),
    )
    assert accepted.status_code == 302, text_of(accepted)[:2000]
    assert Service.objects.get(name="Admin CRM").grant_type == "password"


def test_a_taken_short_name_is_shown_beside_it(owner_client, tenant):
    owner_client.post(add_url(scheme="authorization_code"), form_data(tenant.organization))
    again = owner_client.post(
        add_url(scheme="authorization_code", reserved_id="0b0e5a44-5a4e-4d3e-9d55-0c4f2a1b9e11"),
        form_data(tenant.organization, slug="admin-crm"),
    )
    assert "already has a custom service 'admin-crm'" in errors_of(again, "slug")[0]


def test_the_saved_service_has_the_redirect_uri_shown_before_saving(owner_client, tenant):
    response = owner_client.post(
        add_url(scheme="authorization_code"), form_data(tenant.organization)
    )
    assert response.status_code == 302
    service = Service.objects.get(name="Admin CRM")
    assert str(service.pk) == "6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10"
    change = owner_client.get(reverse("admin:services_service_change", args=[service.pk]))
    assert f"/api/oauth/callback/{service.pk}/" in change.content.decode()


def test_all_problems_are_listed_by_the_domain(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    problems = definition_problems(
        values=oauth2_definition(
            token_url="",
            client_id="",
            base_url="http://api.example",
            credential_header_name="Authorization",
        ),
        client_secret="x",
    )
    assert [p.field for p in problems] == ["token_url", "client_id", "base_url"]


# --- create from a connector ---------------------------------------------------------------------


def test_create_from_connector_prefills_its_template(owner_client):
    response = owner_client.get(add_url(template="github"))
    form = response.context["adminform"].form
    assert form["name"].value() == "GitHub (own OAuth app)"
    assert form["authorize_url"].value() == "https://github.com/login/oauth/authorize"
    assert "read:user" in form["scopes_available"].value()
    assert not form["client_id"].value()
    assert "Filled in from the catalog's GitHub connector" in text_of(response)
    assert "/api/oauth/callback/6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10/" in text_of(response)


def test_create_from_connector_saves_the_organizations_own_app(owner_client, tenant):
    page = owner_client.get(add_url(template="github"))
    data = posted_from(page.context["adminform"].form)
    data.update(client_id="my-github-app", new_client_secret="gh-secret-1")
    response = owner_client.post(add_url(template="github"), data)
    assert response.status_code == 302, text_of(response)[:2000]
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    own = Service.objects.get(organization=tenant.organization, template=github)
    assert own.client_id == "my-github-app" and own.token_url == github.token_url
    assert own.scopes_default == github.scopes_default


# --- connectors ----------------------------------------------------------------------------------


def test_a_connector_without_the_organizations_app_says_what_to_do(owner_client, tenant):
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    page = owner_client.get(reverse("admin:services_service_change", args=[github.pk]))
    assert "GitHub cannot be connected yet" in text_of(page)
    assert f"{reverse(ADD)}?template=github" in page.content.decode()
    # The icon is an image served by this platform, not the catalog's URL as text.
    assert '<img class="service-icon" src="/static/services/icons/github.svg"' in (
        page.content.decode()
    )
    assert "githubassets" not in page.content.decode()


def test_a_connector_with_the_organizations_app_points_to_it(owner_client, tenant):
    owner_client.post(
        add_url(template="github"),
        posted_from(owner_client.get(add_url(template="github")).context["adminform"].form)
        | {"client_id": "my-github-app", "organization": tenant.organization.pk},
    )
    own = Service.objects.get(organization=tenant.organization, template__slug="github")
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    page = owner_client.get(reverse("admin:services_service_change", args=[github.pk]))
    assert "Connect through" in text_of(page) and own.name in text_of(page)


def test_the_step_page_offers_connectors_with_their_local_icons(owner_client):
    step = owner_client.get(add_url()).content.decode()
    assert "?reserved_id=6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10&amp;template=github" in step
    assert "/static/services/icons/github.svg" in step
    assert "githubassets" not in step


def test_the_connect_page_of_a_member_owner_links_to_the_form(client, tenant):
    client.force_login(tenant.owner)
    github = Service.objects.get(source=ServiceSource.CONNECTOR, slug="github")
    page = client.get(
        reverse("connections:connect-service", args=[tenant.organization.slug, github.pk])
    )
    assert page.status_code == 200
    assert f"{reverse(ADD)}?template=github" in page.content.decode()
    assert "create a custom service from this connector" in text_of(page)


def test_advanced_groups_are_folded_until_they_hold_an_error(owner_client, tenant):
    def folded(response) -> set[str]:
        adminform = response.context["adminform"]
        return {fieldset.name for fieldset in adminform if fieldset.is_collapsible}

    opened = owner_client.get(add_url(scheme="authorization_code"))
    assert folded(opened) == {"Token handling", "Umbrella application"}
    assert "<details>" in opened.content.decode()
    refused = owner_client.post(
        add_url(scheme="authorization_code"),
        form_data(tenant.organization, default_token_lifetime="an hour"),
    )
    assert folded(refused) == {"Umbrella application"}


def test_choosing_another_method_keeps_the_reserved_id(owner_client):
    form = owner_client.get(add_url(scheme="token")).content.decode()
    assert '?reserved_id=6f7c1a52-6a4e-4d3e-9d55-0c4f2a1b9e10">Choose another method' in form
