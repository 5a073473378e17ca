"""The Connections and Services pages through Django's test client: scoping (another workspace's or
organization's auth is a 404 page), CSRF, role refusals as messages, errors next to fields, no
secret in any page, the OAuth flow back to the page it started from, the browser routes answering a
page without a session, the expiry email's link, and the redirect URI before a service exists.
What a person sees in Chromium: tests/browser/test_connections.py."""

import html
import re
import uuid

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from auths.models import Authentication, AuthStatus, OAuthTransaction
from connections.browser_flows import member_return_path
from connections.token_auth import authentication_create_token
from infrastructure.errors import RuleViolation
from services.models import Service
from tests.connections.helpers import (
    custom_service,
    oauth2_service,
    organization_workspace,
    path_of,
    personal_workspace,
)
from tests.events.helpers import deliver_pending_emails
from tests.events.test_notifications import reject
from tests.lifecycle.factories import make_auth

pytestmark = pytest.mark.django_db

API_KEY = "sk-live-0123456789-very-secret"


def text_of(response) -> str:
    """The page's words, without markup, entities decoded."""
    markup = response.content.decode()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def page(name, tenant, *args) -> str:
    return reverse(f"connections:{name}", args=[tenant.organization.slug, *args])


def token_service(tenant, **fields):
    return custom_service(
        tenant, name="Ticket API", base_url="https://api.tickets.example", **fields
    )


def token_auth(tenant, user, service=None, workspace=None, name="Tickets"):
    return authentication_create_token(
        actor=tenant.actor(user),
        service=service or token_service(tenant),
        workspace=workspace or personal_workspace(tenant, user),
        name=name,
        credentials={"api_key": API_KEY},
    )


# --- scoping ---------------------------------------------------------------------------------------


def test_the_list_shows_what_the_member_may_see_and_nothing_else(tenant, other_tenant):
    own = token_auth(tenant, tenant.contributor, name="Mine")
    shared = token_auth(
        tenant, tenant.admin, workspace=organization_workspace(tenant), name="Everyone's"
    )
    token_auth(tenant, tenant.admin, name="Admin's personal")
    token_auth(other_tenant, other_tenant.contributor, name="Othercorp's")
    text = text_of(signed_in(tenant.contributor).get(reverse("connections:list")))
    assert own.name in text and shared.name in text
    assert "Admin's personal" not in text and "Othercorp" not in text
    assert "Active" in text and "Working." in text


@pytest.mark.parametrize("name", ["manage", "reauthenticate", "delete"])
def test_an_auth_the_member_cannot_see_is_a_404_page(name, tenant, other_tenant):
    hidden = token_auth(tenant, tenant.admin)
    foreign = token_auth(other_tenant, other_tenant.contributor)
    client = signed_in(tenant.contributor)
    for url in (
        page(name, tenant, hidden.pk),
        page(name, tenant, foreign.pk),
        reverse(f"connections:{name}", args=[other_tenant.organization.slug, foreign.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "This connection is not here" in text_of(response)


@pytest.mark.parametrize("name", ["test", "rename", "move", "delete", "reauthenticate"])
def test_acting_on_an_auth_of_a_workspace_one_cannot_see_changes_nothing(name, tenant):
    hidden = token_auth(tenant, tenant.admin, name="Hidden")
    response = signed_in(tenant.contributor).post(
        page(name, tenant, hidden.pk),
        {"name": "Taken", "workspace": str(organization_workspace(tenant).pk)},
    )
    assert response.status_code == 404
    hidden.refresh_from_db()
    assert hidden.name == "Hidden" and hidden.workspace.kind == "personal"


def test_services_of_another_organization_are_invisible(tenant, other_tenant):
    foreign = custom_service(other_tenant, name="Othercorp CRM")
    client = signed_in(tenant.contributor)
    assert "Othercorp CRM" not in text_of(client.get(reverse("services:list")))
    assert "Othercorp CRM" not in text_of(client.get(page("connect", tenant) + "?q=crm"))
    for url in (
        reverse("services:detail", args=[tenant.organization.slug, foreign.pk]),
        page("connect-service", tenant, foreign.pk),
    ):
        assert client.get(url).status_code == 404


def test_an_organization_the_person_is_not_in_is_a_404_page(tenant, other_tenant):
    client = signed_in(tenant.contributor)
    response = client.get(reverse("connections:connect", args=[other_tenant.organization.slug]))
    assert response.status_code == 404


def test_the_pages_need_a_signed_in_person(client, tenant):
    auth = token_auth(tenant, tenant.contributor)
    for url in (reverse("connections:list"), page("manage", tenant, auth.pk)):
        response = client.get(url)
        assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


# --- CSRF and roles ---------------------------------------------------------------------------------


def test_every_action_needs_the_csrf_token(tenant):
    auth = token_auth(tenant, tenant.contributor, name="Before")
    client = signed_in(tenant.contributor, enforce_csrf_checks=True)
    for name in ("rename", "delete", "test"):
        assert client.post(page(name, tenant, auth.pk), {"name": "After"}).status_code == 403
    auth.refresh_from_db()
    assert auth.name == "Before"
    # With the token the manage page carries, the same rename goes through.
    client.get(page("manage", tenant, auth.pk))
    token = client.cookies["csrftoken"].value
    response = client.post(
        page("rename", tenant, auth.pk), {"name": "After", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    auth.refresh_from_db()
    assert auth.name == "After"


def test_a_viewer_is_told_they_may_not_connect(tenant):
    client = signed_in(tenant.viewer)
    listing = text_of(client.get(reverse("connections:list")))
    assert "Connect an account" not in listing and "Your role is viewer" in listing
    response = client.get(page("connect", tenant), follow=True)
    assert "Your role in Acme is viewer" in text_of(response)


def test_a_member_who_does_not_manage_an_auth_is_told_who_does(tenant):
    auth = token_auth(tenant, tenant.admin, workspace=organization_workspace(tenant), name="Shared")
    client = signed_in(tenant.contributor)
    listing = text_of(client.get(reverse("connections:list")))
    assert "Shared" in listing and "Re-authenticate Shared" not in listing
    for name in ("rename", "delete"):
        response = client.post(page(name, tenant, auth.pk), {"name": "Mine now"}, follow=True)
        assert "Only the authentication's owner or an admin" in text_of(response)
    assert Authentication.objects.get(pk=auth.pk).name == "Shared"


# --- connecting, with only the fields the scheme needs ------------------------------------------------


def form_labels(response) -> set[str]:
    return set(re.findall(r'<label for="id_([a-z_]+)"', response.content.decode()))


def test_a_connector_without_the_organizations_own_oauth_app_cannot_be_connected(tenant):
    client = signed_in(tenant.contributor)
    picker = text_of(client.get(page("connect", tenant) + "?q=github"))
    assert "GitHub" in picker and "Needs your organization's own OAuth app first" in picker
    github = Service.objects.get(source="connector", slug="github")
    response = client.post(
        page("connect-service", tenant, github.pk),
        {"workspace": str(personal_workspace(tenant, tenant.contributor).pk)},
    )
    assert response.status_code == 400
    refusal = text_of(response)
    assert "Not set up yet" in refusal and "Ask the owner of Acme to set it up" in refusal
    assert not OAuthTransaction.objects.filter(service=github).exists()


def test_each_scheme_asks_only_for_its_own_fields(tenant, server):
    client = signed_in(tenant.contributor)
    header = token_service(tenant)
    basic = custom_service(tenant, credential_placement="basic", base_url="https://b.example")
    oauth = oauth2_service(tenant, server)
    assert form_labels(client.get(page("connect-service", tenant, header.pk))) == {
        "name",
        "workspace",
        "api_key",
    }
    assert form_labels(client.get(page("connect-service", tenant, basic.pk))) == {
        "name",
        "workspace",
        "username",
        "password",
    }
    oauth_page = client.get(page("connect-service", tenant, oauth.pk))
    assert form_labels(oauth_page) == {"name", "workspace"}
    assert "Continue to Test API" in text_of(oauth_page)


def test_a_token_connection_is_saved_and_listed_and_its_key_never_shown(tenant):
    service = token_service(
        tenant,
        parameters=[
            {"name": "region", "title": "Region", "required": True, "pattern": "eu|us"},
            {"name": "signing", "title": "Signing secret", "secret": True},
        ],
    )
    client = signed_in(tenant.contributor)
    url = page("connect-service", tenant, service.pk)
    workspace = str(personal_workspace(tenant, tenant.contributor).pk)
    # Errors are next to the field they concern, and the form keeps what was typed.
    response = client.post(url, {"name": "Desk", "workspace": workspace, "parameter_region": "eu"})
    assert response.status_code == 400
    assert re.search(
        r'id_api_key_errors">\s*<li>.*This field is required', response.content.decode()
    )
    response = client.post(
        url,
        {"workspace": workspace, "api_key": API_KEY, "parameter_region": "mars"},
    )
    assert response.status_code == 400
    assert re.search(
        r'id_parameter_region_errors">\s*<li>.*does not match the pattern',
        response.content.decode(),
    )
    assert API_KEY not in response.content.decode()
    response = client.post(
        url,
        {
            "name": "Desk",
            "workspace": workspace,
            "api_key": API_KEY,
            "parameter_region": "eu",
            "parameter_signing": "whsec-also-secret",
        },
        follow=True,
    )
    assert "Ticket API is connected as “Desk”" in text_of(response)
    auth = Authentication.objects.get(service=service)
    assert auth.api_key.reveal() == API_KEY and auth.parameters == {"region": "eu"}
    for url in (
        reverse("connections:list"),
        page("manage", tenant, auth.pk),
        page("reauthenticate", tenant, auth.pk),
        page("delete", tenant, auth.pk),
    ):
        html = client.get(url).content.decode()
        assert API_KEY not in html and "whsec-also-secret" not in html


def test_reauthenticating_a_token_auth_keeps_its_id(tenant):
    auth = token_auth(tenant, tenant.contributor)
    client = signed_in(tenant.contributor)
    response = client.post(
        page("reauthenticate", tenant, auth.pk), {"api_key": "sk-new-key-42"}, follow=True
    )
    assert "“Tickets” is re-authenticated" in text_of(response)
    assert Authentication.objects.filter(service=auth.service).count() == 1
    auth.refresh_from_db()
    assert auth.api_key.reveal() == "sk-new-key-42" and auth.version == 2


def test_move_and_delete_through_the_pages(tenant):
    auth = token_auth(tenant, tenant.contributor)
    client = signed_in(tenant.contributor)
    target = organization_workspace(tenant)
    response = client.post(
        page("move", tenant, auth.pk), {"workspace": str(target.pk)}, follow=True
    )
    assert f"is now in workspace {target.name}" in text_of(response)
    # The confirmation page says what deleting does; the POST deletes.
    confirm = text_of(client.get(page("delete", tenant, auth.pk)))
    assert "This cannot be undone" in confirm
    response = client.post(page("delete", tenant, auth.pk), follow=True)
    assert "“Tickets” is deleted" in text_of(response)
    assert not Authentication.objects.filter(pk=auth.pk).exists()


def test_a_move_to_a_workspace_the_member_may_not_use_is_an_error_next_to_the_field(
    tenant,
):
    auth = token_auth(tenant, tenant.contributor)
    elsewhere = personal_workspace(tenant, tenant.admin)
    response = signed_in(tenant.contributor).post(
        page("move", tenant, auth.pk), {"workspace": str(elsewhere.pk)}
    )
    assert response.status_code == 400
    assert re.search(
        r'id_workspace_errors">\s*<li>.*Select a valid choice', response.content.decode()
    )


# --- test ---------------------------------------------------------------------------------------------


def test_the_test_button_calls_the_services_test_path_and_says_what_happened(tenant, server):
    works = custom_service(
        tenant, name="Open API", base_url=server.base_url + "/api", test_path="/public"
    )
    refuses = custom_service(
        tenant, name="Echo API", base_url=server.base_url + "/api", test_path="/echo"
    )
    untestable = token_service(tenant)
    client = signed_in(tenant.contributor)
    ok = token_auth(tenant, tenant.contributor, service=works, name="Open")
    bad = token_auth(tenant, tenant.contributor, service=refuses, name="Echo")
    response = client.post(page("test", tenant, ok.pk), follow=True)
    assert (
        "Test passed for “Open”: Open API accepted the credentials (GET /public answered 200)"
        in (text_of(response))
    )
    response = client.post(page("test", tenant, bad.pk), follow=True)
    assert "Test failed for “Echo”: Echo API refused the credentials (GET /echo answered 401)" in (
        text_of(response)
    )
    listing = client.get(reverse("connections:list")).content.decode()
    assert page("test", tenant, ok.pk) in listing
    no_test = token_auth(tenant, tenant.contributor, service=untestable, name="No test")
    assert page("test", tenant, no_test.pk) not in listing
    response = client.post(page("test", tenant, no_test.pk), follow=True)
    assert "declares no test request" in text_of(response)


# --- status in words --------------------------------------------------------------------------------


def test_a_needs_reauth_auth_is_explained_with_a_reauthenticate_button(
    tenant, django_capture_on_commit_callbacks
):
    auth = make_auth(tenant, owner=tenant.contributor, name="CRM")
    with django_capture_on_commit_callbacks(execute=True):
        reject(auth)
    auth.refresh_from_db()
    assert auth.status == AuthStatus.NEEDS_REAUTH
    response = signed_in(tenant.contributor).get(reverse("connections:list"))
    text = text_of(response)
    assert "Needs re-authentication" in text
    assert "Not working: the provider refused it. Re-authenticate to reconnect." in text
    assert "refused to refresh the access token (invalid_grant)" in text
    assert page("reauthenticate", tenant, auth.pk) in response.content.decode()


def test_the_expiry_email_links_to_the_reauthenticate_page(
    tenant, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://platform.example.com"
    auth = make_auth(tenant, owner=tenant.contributor, name="CRM")
    with django_capture_on_commit_callbacks(execute=True):
        reject(auth)
    assert deliver_pending_emails() == ["delivered"]
    [message] = mail.outbox
    link = f"https://platform.example.com{page('reauthenticate', tenant, auth.pk)}"
    assert f"Re-authenticate it here: {link}" in message.body
    # The link opens the page that acts, for the auth's owner once signed in.
    assert signed_in(tenant.contributor).get(path_of(link)).status_code == 200


# --- OAuth from the pages ---------------------------------------------------------------------------


def test_an_oauth_connection_comes_back_to_the_connections_page_with_a_message(
    tenant, server, resource_owner
):
    service = oauth2_service(tenant, server, name="CRM")
    client = signed_in(tenant.contributor)
    response = client.post(
        page("connect-service", tenant, service.pk),
        {"name": "My CRM", "workspace": str(personal_workspace(tenant, tenant.contributor).pk)},
    )
    assert response.status_code == 302 and response["Location"].startswith(server.authorize_url)
    back = server.authorize(
        response["Location"], resource_owner["username"], resource_owner["password"], True
    )
    response = client.get(path_of(back))
    assert response.status_code == 302
    assert response["Location"] == reverse("connections:list") + "#org-acme"
    listing = text_of(client.get(response["Location"]))
    assert "CRM is connected as “My CRM”" in listing and "Active" in listing
    auth = Authentication.objects.get(service=service)

    # Re-authenticating goes to the provider and back, and the auth keeps its id.
    response = client.post(page("reauthenticate", tenant, auth.pk))
    assert response.status_code == 302, text_of(response)
    back = server.authorize(
        response["Location"], resource_owner["username"], resource_owner["password"], True
    )
    response = client.get(path_of(back), follow=True)
    assert "CRM is re-authenticated as “My CRM”" in text_of(response)
    assert list(Authentication.objects.filter(service=service).values_list("pk", flat=True)) == [
        auth.pk
    ]
    for secret in (auth.access_token.reveal(),):
        assert secret not in response.content.decode()


@pytest.mark.parametrize(
    "path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_a_members_return_path_is_a_path_on_this_site(path):
    with pytest.raises(RuleViolation):
        member_return_path(path)
    assert member_return_path("/connections/#org-acme") == "/connections/#org-acme"


def test_the_callback_without_a_session_answers_a_page_to_a_browser_and_json_to_an_api_client(
    client, tenant, server
):
    service = oauth2_service(tenant, server)
    url = reverse("oauth-callback", kwargs={"service_id": service.pk}) + "?state=abc&code=xyz"
    response = client.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 401 and response["Content-Type"].startswith("text/html")
    text = text_of(response)
    assert "Sign in to finish connecting" in text and "Nothing was saved" in text
    assert "/account/sign-in/?next=/connections/" in response.content.decode()
    api = client.get(url, HTTP_ACCEPT="application/json")
    assert api.status_code == 401 and api.json()["error"]["code"] == "not_authenticated"


def test_the_start_route_answers_a_page_for_someone_elses_or_no_session(tenant):
    url = reverse("oauth-start", kwargs={"transaction_id": uuid.uuid4()})
    anonymous = Client().get(url, HTTP_ACCEPT="text/html")
    assert anonymous.status_code == 401 and "Sign in to finish connecting" in text_of(anonymous)
    member = signed_in(tenant.contributor).get(url, HTTP_ACCEPT="text/html")
    assert member.status_code == 404 and "This sign-in link cannot be used" in text_of(member)
    assert signed_in(tenant.contributor).get(url).json()["error"]["code"] == "not_found"


def test_an_invalid_state_with_a_session_answers_a_page_that_says_start_again(tenant, server):
    service = oauth2_service(tenant, server)
    url = reverse("oauth-callback", kwargs={"service_id": service.pk}) + "?state=forged&code=x"
    response = signed_in(tenant.contributor).get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    text = text_of(response)
    assert "does not match any sign-in in progress; start again" in text
    assert "Go to your connections to start again" in text


# --- the redirect URI before and after saving ---------------------------------------------------------


def test_a_reserved_id_gives_the_redirect_uri_before_the_service_exists(tenant, api):
    client = signed_in(tenant.owner)
    response = client.get(reverse("services:new", args=[tenant.organization.slug]))
    assert response.status_code == 302
    reserved = client.get(response["Location"])
    service_id = reserved.context["service_id"]
    uri = f"http://testserver/api/oauth/callback/{service_id}/"
    assert uri in text_of(reserved) and "Copy the redirect URI" in text_of(reserved)
    # Reloading keeps the id; creating the service with it gives the same URI.
    assert uri in text_of(client.get(response["Location"]))
    created = api.as_user(tenant.owner).post(
        reverse("custom-service-list", kwargs={"organization_slug": tenant.organization.slug}),
        {
            "id": str(service_id),
            "name": "Own CRM",
            "auth_scheme": "oauth2",
            "authorize_url": "https://crm.example/authorize",
            "token_url": "https://crm.example/token",
            "client_id": "cid",
            "client_secret": "cs-123456",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["id"] == str(service_id) and created.json()["redirect_uri"] == uri
    detail = client.get(reverse("services:detail", args=[tenant.organization.slug, service_id]))
    assert uri in text_of(detail) and "cs-123456" not in detail.content.decode()
    # The id is no longer free: the reservation page gives another one.
    again = client.get(reverse("services:reserved", args=[tenant.organization.slug, service_id]))
    assert again.status_code == 302 and again["Location"].endswith("/new/")


def test_members_who_do_not_manage_a_custom_service_do_not_see_its_definition(tenant, server):
    service = oauth2_service(tenant, server, name="Owner's CRM")
    detail = signed_in(tenant.contributor).get(
        reverse("services:detail", args=[tenant.organization.slug, service.pk])
    )
    assert detail.status_code == 200 and "Owner's CRM" in text_of(detail)
    assert "Redirect URI" not in text_of(detail) and service.client_id not in text_of(detail)


def test_the_admin_shows_the_redirect_uri_on_the_add_and_change_pages(tenant, settings):
    client = signed_in(tenant.owner)
    add = client.get(reverse("admin:services_service_add"))
    assert add.status_code == 302 and "reserved_id=" in add["Location"]
    reserved = add["Location"].split("reserved_id=")[1]
    form = client.get(add["Location"] + "&scheme=authorization_code")
    assert f"/api/oauth/callback/{reserved}/" in form.content.decode()
    response = client.post(
        add["Location"],
        {
            "organization": tenant.organization.pk,
            "reserved_id": reserved,
            "name": "Admin CRM",
            "auth_scheme": "oauth2",
            "grant_type": "authorization_code",
            "authorize_url": "https://crm.example/authorize",
            "token_url": "https://crm.example/token",
            "client_id": "cid",
            "new_client_secret": "cs-123456",
            "client_auth_method": "basic",
            "credential_placement": "header",
            "credential_header_name": "Authorization",
            "credential_prefix": "Bearer",
            "scope_separator": " ",
            "default_token_lifetime": 3600,
            "umbrella_status": "unknown",
            "pkce": "on",
            "parameters-TOTAL_FORMS": "0",
            "parameters-INITIAL_FORMS": "0",
            **{
                field: value
                for field, value in {
                    "scopes_available": "[]",
                    "scopes_default": "[]",
                    "authorize_params": "{}",
                    "token_params": "{}",
                    "refresh_params": "{}",
                    "parameters": "[]",
                    "token_response_parameters": "{}",
                    "expired_status_codes": "[]",
                    "test_exempt_scopes": "[]",
                }.items()
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    service = Service.objects.get(name="Admin CRM")
    assert str(service.pk) == reserved
    change = client.get(reverse("admin:services_service_change", args=[service.pk]))
    assert f"/api/oauth/callback/{reserved}/" in change.content.decode()
