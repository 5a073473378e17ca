"""Connect links: one-time URLs that take an end user straight to a provider's consent in any
browser, with no login; the callback saves the auth as theirs (and binds it to the link's slot),
then returns the browser to an allowed origin only. Played against the real loopback provider."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client
from django.urls import reverse

from auths.models import Authentication, OAuthTransaction
from connections.http_client import http_request
from embedded.models import AuthorizationCode, SolutionInstance
from embedded.solutions import solution_create, solution_publish
from tests.connections.helpers import (
    authorize_redirect,
    browser,
    custom_service,
    path_of,
    start_flow,
)
from tests.connections.test_oauth1 import PROVIDER as OAUTH1_PROVIDER
from tests.connections.test_oauth1 import oauth1_service
from tests.embedded.builders import (
    allow_origins,
    backend,
    browser_service,
    embedded_workspace,
    make_end_user,
    make_project,
    open_connect_link,
)

pytestmark = pytest.mark.django_db

RETURN = "https://app.example.com/integrations/done?tab=crm"


def links_url(tenant, end_user):
    return reverse(
        "end-user-connect-links",
        kwargs={"organization_slug": tenant.organization.slug, "pk": end_user.pk},
    )


def new_link(tenant, end_user, **payload):
    response = backend(tenant).post(links_url(tenant, end_user), payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()["url"]


def returned(response) -> dict:
    """The query our redirect added to the return URL."""
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN.split("?")[0]
    return {k: v[0] for k, v in parse_qs(location.query).items()}


@pytest.fixture
def world(embedded_tenant, server):
    allow_origins(embedded_tenant, "https://app.example.com")
    return {
        "tenant": embedded_tenant,
        "service": browser_service(embedded_tenant, server),
        "end_user": make_end_user(embedded_tenant),
    }


def test_an_end_user_connects_through_a_link_with_no_session(world, server, resource_owner):
    tenant, service, end_user = world["tenant"], world["service"], world["end_user"]
    url = new_link(tenant, end_user, service=str(service.pk), return_url=RETURN)
    assert url.startswith("http://testserver/embedded/connect/")

    callback = open_connect_link(url, server, resource_owner)

    query = returned(callback)
    assert query["status"] == "connected" and query["tab"] == "crm"
    assert callback["Referrer-Policy"] == "no-referrer"
    auth = Authentication.objects.get(pk=query["authentication_id"])
    assert auth.end_user == end_user and auth.owner is None and auth.created_by is None
    assert auth.workspace == embedded_workspace(tenant)
    assert auth.service == service and auth.status == "active"
    assert end_user.external_user_id in auth.name
    # The provider issued the token to the account that consented.
    seen = http_request(authentication=auth, method="GET", path_or_url="/echo/me").json()
    assert seen["auth"]["username"] == resource_owner["username"]
    # The transaction was the end user's and is spent.
    txn = OAuthTransaction.objects.get()
    assert txn.end_user == end_user and txn.started_by is None and txn.used_at is not None
    assert AuthorizationCode.objects.get().oauth_transaction == txn


def test_a_replayed_callback_is_refused(world, server, resource_owner):
    url = new_link(world["tenant"], world["end_user"], service=str(world["service"].pk))
    client = Client()
    opened = client.get(path_of(url))
    redirect = server.authorize(
        opened["Location"], resource_owner["username"], resource_owner["password"]
    )
    assert client.get(path_of(redirect)).status_code == 200  # the "connected" page

    replayed = Client().get(path_of(redirect))

    assert replayed.status_code == 400
    assert b"already used" in replayed.content
    assert Authentication.objects.count() == 1
    assert server.counters()["token_requests"] == 1


def test_without_a_return_url_the_end_user_is_told_to_close_the_window(
    world, server, resource_owner
):
    url = new_link(world["tenant"], world["end_user"], service=str(world["service"].pk))

    page = open_connect_link(url, server, resource_owner)

    assert page.status_code == 200
    assert b"You can close this window" in page.content
    auth = Authentication.objects.get()
    assert str(auth.pk).encode() in page.content and auth.end_user == world["end_user"]


def test_a_link_works_once(world, server, resource_owner):
    url = new_link(world["tenant"], world["end_user"], service=str(world["service"].pk))
    assert Client().get(path_of(url)).status_code == 302

    again = Client().get(path_of(url))

    assert again.status_code == 403
    assert b"cannot be used" in again.content
    assert again["Referrer-Policy"] == "no-referrer"
    assert OAuthTransaction.objects.count() == 1


def test_unknown_and_expired_links_get_a_clear_page(world):
    url = new_link(world["tenant"], world["end_user"], service=str(world["service"].pk))
    AuthorizationCode.objects.update(expires_at="2000-01-01T00:00Z")

    for path in (path_of(url), reverse("embedded-connect", kwargs={"code": "made-up"})):
        page = Client().get(path)
        assert page.status_code == 403
        assert b"codes work once, for 10 minutes" in page.content
    assert not OAuthTransaction.objects.exists()


def test_a_return_url_off_the_allowed_origins_is_refused_when_the_link_is_made(world):
    tenant, end_user, service = world["tenant"], world["end_user"], world["service"]
    for return_url, why in [
        ("https://evil.example/steal", "allowed_origins"),
        ("https://app.example.com.evil.example/", "allowed_origins"),
        ("http://app.example.com/done", "use https"),
        ("javascript:alert(1)", "https://"),
    ]:
        response = backend(tenant).post(
            links_url(tenant, end_user),
            {"service": str(service.pk), "return_url": return_url},
            format="json",
        )
        assert response.status_code == 400, return_url
        assert why in response.json()["error"]["fields"]["return_url"][0]
    assert not AuthorizationCode.objects.exists()


def test_http_return_urls_are_for_localhost(world, server, resource_owner):
    tenant = world["tenant"]
    allow_origins(tenant, "http://localhost:3000")
    url = new_link(
        tenant,
        world["end_user"],
        service=str(world["service"].pk),
        return_url="http://localhost:3000/cb",
    )
    callback = open_connect_link(url, server, resource_owner)
    assert callback["Location"].startswith("http://localhost:3000/cb?status=connected")


def test_an_origin_removed_since_the_link_was_made_gets_no_redirect(world, server, resource_owner):
    tenant = world["tenant"]
    url = new_link(tenant, world["end_user"], service=str(world["service"].pk), return_url=RETURN)
    allow_origins(tenant, "https://other.example.com")

    page = open_connect_link(url, server, resource_owner)

    assert page.status_code == 200
    assert b"not sent back" in page.content
    assert Authentication.objects.get().end_user == world["end_user"]


def test_declining_at_the_provider_returns_an_error_code(embedded_tenant, server, resource_owner):
    allow_origins(embedded_tenant, "https://app.example.com")
    service = browser_service(embedded_tenant, server, skip_authorization=False)
    url = new_link(
        embedded_tenant, make_end_user(embedded_tenant), service=str(service.pk), return_url=RETURN
    )

    callback = open_connect_link(url, server, resource_owner, approve=False)

    assert returned(callback) == {"tab": "crm", "status": "error", "error": "access_denied"}
    assert not Authentication.objects.exists()


def test_a_members_session_does_not_make_the_auth_theirs(world, server, resource_owner):
    url = new_link(world["tenant"], world["end_user"], service=str(world["service"].pk))
    member = Client()
    member.force_login(world["tenant"].owner)

    page = open_connect_link(url, server, resource_owner, client=member)

    assert page.status_code == 200
    auth = Authentication.objects.get()
    assert auth.end_user == world["end_user"] and auth.owner is None


def test_a_member_without_a_session_is_still_refused_at_the_callback(world, server, resource_owner):
    """A member's own sign-in keeps needing the member: the no-session path is for end users."""
    tenant = world["tenant"]
    member = browser(tenant.admin)
    start = start_flow(member, tenant, world["service"])
    redirect = authorize_redirect(member, server, start, resource_owner)

    assert Client().get(path_of(redirect)).status_code in (401, 403)
    assert OAuthTransaction.objects.get().used_at is None


def test_a_token_service_link_says_the_form_comes_with_the_wizard(embedded_tenant):
    service = custom_service(embedded_tenant, name="Key API", auth_scheme="token")
    url = new_link(embedded_tenant, make_end_user(embedded_tenant), service=str(service.pk))

    page = Client().get(path_of(url))

    assert page.status_code == 200
    assert b"comes with the config wizard" in page.content
    assert b"<script" not in page.content and b"http" not in page.content.split(b"<body>")[1]


def test_a_service_that_needs_values_first_cannot_have_a_link(embedded_tenant, server):
    service = browser_service(
        embedded_tenant,
        server,
        parameters=[{"name": "shop", "title": "Shop domain", "required": True}],
    )
    response = backend(embedded_tenant).post(
        links_url(embedded_tenant, make_end_user(embedded_tenant)),
        {"service": str(service.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "Shop domain" in response.json()["error"]["fields"]["service"][0]


# --- links to an instance's auth slot ------------------------------------------------------------


def slot_world(tenant, server, **slot_options):
    allow_origins(tenant, "https://app.example.com")
    service = browser_service(tenant, server)
    project = make_project(
        tenant,
        auth_slots=[
            {
                "external_id": "crm",
                "title": "CRM",
                "service": service,
                "scopes": ["read"],
                **slot_options,
            }
        ],
    )
    owner = tenant.actor(tenant.owner)
    solution = solution_create(actor=owner, project=project)
    release = solution_publish(actor=owner, solution=solution)
    end_user = make_end_user(tenant)
    instance = SolutionInstance.objects.create(
        organization=tenant.organization,
        solution=solution,
        release=release,
        end_user=end_user,
        name="Sync",
    )
    return service, end_user, instance


def test_a_slot_link_binds_the_new_auth_to_the_slot(embedded_tenant, server, resource_owner):
    service, end_user, instance = slot_world(embedded_tenant, server)
    url = new_link(
        embedded_tenant, end_user, instance=str(instance.pk), slot="crm", return_url=RETURN
    )

    query = returned(open_connect_link(url, server, resource_owner))

    assert query["status"] == "connected"
    binding = instance.auth_bindings.get()
    assert binding.slot == "crm" and str(binding.authentication_id) == query["authentication_id"]
    # The consent asked for the slot's scopes.
    assert binding.authentication.scopes == ["read"]


def test_a_slot_that_asks_more_by_the_time_of_the_callback_reports_binding_refused(
    embedded_tenant, server, resource_owner
):
    service, end_user, instance = slot_world(embedded_tenant, server)
    url = new_link(
        embedded_tenant, end_user, instance=str(instance.pk), slot="crm", return_url=RETURN
    )
    client = Client()
    opened = client.get(path_of(url))  # consent is asked for the slot's scope: read
    # While the end user is at the provider, the slot comes to ask for more.
    release = instance.release
    release.snapshot["auth_slots"][0]["scopes"] = ["read", "write"]
    release.save()
    redirect = server.authorize(
        opened["Location"], resource_owner["username"], resource_owner["password"]
    )

    query = returned(client.get(path_of(redirect)))

    assert query["status"] == "error" and query["error"] == "binding_refused"
    auth = Authentication.objects.get(pk=query["authentication_id"])
    assert auth.end_user == end_user and auth.scopes == ["read"]  # theirs, unbound
    assert not instance.auth_bindings.exists()
    assert "lacks the scopes write" in AuthorizationCode.objects.get().result_error


def test_a_link_for_another_end_users_instance_is_refused(embedded_tenant, server):
    _, _, instance = slot_world(embedded_tenant, server)
    someone_else = make_end_user(embedded_tenant)
    response = backend(embedded_tenant).post(
        links_url(embedded_tenant, someone_else),
        {"instance": str(instance.pk), "slot": "crm"},
        format="json",
    )
    assert response.status_code == 400
    assert "belongs to another end user" in response.json()["error"]["fields"]["instance"][0]


def test_a_link_names_a_slot_the_solution_has_and_one_target(embedded_tenant, server):
    service, end_user, instance = slot_world(embedded_tenant, server)
    client = backend(embedded_tenant)
    url = links_url(embedded_tenant, end_user)

    unknown = client.post(url, {"instance": str(instance.pk), "slot": "nope"}, format="json")
    assert (
        unknown.status_code == 400 and "its auth slots: crm" in unknown.json()["error"]["message"]
    )
    both = client.post(
        url,
        {"service": str(service.pk), "instance": str(instance.pk), "slot": "crm"},
        format="json",
    )
    assert both.status_code == 400
    neither = client.post(url, {}, format="json")
    assert neither.status_code == 400 and "either a service" in neither.json()["error"]["message"]


# --- OAuth 1.0a (no loopback server speaks it: the provider is played with `responses`) ----------


@responses.activate
def test_an_oauth1_link_goes_to_consent_and_comes_back_connected(embedded_tenant):
    allow_origins(embedded_tenant, "https://app.example.com")
    responses.post(
        OAUTH1_PROVIDER + "/oauth/request_token",
        body="oauth_token=request-token&oauth_token_secret=request-secret"
        "&oauth_callback_confirmed=true",
        content_type="application/x-www-form-urlencoded",
    )
    responses.post(
        OAUTH1_PROVIDER + "/oauth/access_token",
        body="oauth_token=access-token-1&oauth_token_secret=access-secret-1",
        content_type="application/x-www-form-urlencoded",
    )
    service = oauth1_service(embedded_tenant)
    end_user = make_end_user(embedded_tenant)
    url = new_link(embedded_tenant, end_user, service=str(service.pk), return_url=RETURN)
    client = Client()

    opened = client.get(path_of(url))

    assert opened.status_code == 302
    assert opened["Location"] == OAUTH1_PROVIDER + "/oauth/authorize?oauth_token=request-token"
    callback = reverse("oauth-callback", kwargs={"service_id": service.pk})
    query = returned(client.get(callback + "?oauth_token=request-token&oauth_verifier=v-1"))
    auth = Authentication.objects.get(pk=query["authentication_id"])
    assert auth.end_user == end_user and auth.access_token.reveal() == "access-token-1"
    replayed = Client().get(callback + "?oauth_token=request-token&oauth_verifier=v-1")
    assert replayed.status_code == 400


@responses.activate
def test_a_provider_that_refuses_the_request_token_gets_a_clear_page(embedded_tenant):
    responses.post(OAUTH1_PROVIDER + "/oauth/request_token", status=401, body="no")
    service = oauth1_service(embedded_tenant)
    url = new_link(embedded_tenant, make_end_user(embedded_tenant), service=str(service.pk))

    page = Client().get(path_of(url))

    assert page.status_code == 502
    assert b"did not issue a request token" in page.content
