"""A service edit never redirects other people's credentials (issue 11, item 1).

The attacker's host is a second name for the loopback server ("attacker.test"): had anything been
sent there, the server's counters would show it. Every test checks that nothing arrived."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from auths.models import Authentication, AuthStatus
from auths.tokens import RefreshRejected
from connections.authentications import authentication_delete
from connections.http_client import http_request
from connections.password_grant import authentication_create_password
from connections.token_auth import authentication_create_token
from events.models import AuthEvent, EmailDelivery, EventKind
from lifecycle.refresh import authentication_refresh
from services.models import Service
from tests.connections.helpers import custom_service, oauth2_service, org_kwargs
from tests.services.admin_form import posted_from

pytestmark = pytest.mark.django_db

API_KEY = "owner-key-0123456789"


@pytest.fixture
def attacker(server, hosts):
    """The loopback server under another name: the origin an editor points the service at."""
    hosts({"attacker.test": ["127.0.0.1"]})
    return f"http://attacker.test:{urlsplit(server.base_url).port}"


def owners_token_auth_on_contributors_service(tenant, server):
    server.set_api_key(API_KEY, header="X-Api-Key")
    service = custom_service(
        tenant,
        user=tenant.contributor,
        base_url=server.base_url + "/api",
        credential_header_name="X-Api-Key",
        credential_prefix="",
    )
    auth = authentication_create_token(
        actor=tenant.actor(tenant.owner), service=service, credentials={"api_key": API_KEY}
    )
    return service, auth


def owners_oauth_auth(tenant, server, resource_owner):
    service = oauth2_service(tenant, server, grant_type="password", discouraged_acknowledged=True)
    return authentication_create_password(
        actor=tenant.actor(tenant.owner),
        service=service,
        username=resource_owner["username"],
        password=resource_owner["password"],
    )


def patch_service(api, user, tenant, service, changes):
    return api.as_user(user).patch(
        reverse("custom-service-detail", kwargs={**org_kwargs(tenant), "pk": service.pk}),
        changes,
        format="json",
    )


def call_api(api, user, tenant, auth, path="/echo"):
    return api.as_user(user).post(
        reverse("authentication-request", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {"method": "GET", "path": path},
        format="json",
    )


def needs_reauth_emails(auth) -> int:
    return EmailDelivery.objects.filter(
        event__authentication_ref=auth.pk, event__kind=EventKind.NEEDS_REAUTH
    ).count()


def test_a_contributor_moving_the_base_url_never_receives_the_owners_api_key(
    tenant, server, attacker, api
):
    service, auth = owners_token_auth_on_contributors_service(tenant, server)
    assert call_api(api, tenant.owner, tenant, auth).status_code == 200
    requests_before = server.counters()["api_requests"]

    edited = patch_service(
        api, tenant.contributor, tenant, service, {"base_url": attacker + "/api"}
    )

    assert edited.status_code == 200, edited.content
    warning = next(w for w in edited.json()["warnings"] if w["code"] == "reauthentication_needed")
    assert warning["message"].startswith("1 authentication granted before this change")
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.NEEDS_REAUTH
    assert "API base URL" in stored.status_reason
    assert "Re-authenticate" in stored.status_reason
    assert needs_reauth_emails(auth) == 1
    changed = AuthEvent.objects.get(service=service, kind=EventKind.SERVICE_CHANGED)
    assert changed.organization_id == tenant.organization.pk
    assert changed.data == {"fields": ["base_url"], "authentications": 1}

    answer = call_api(api, tenant.owner, tenant, auth)
    assert answer.status_code == 409, answer.content
    assert answer.json()["error"]["code"] == "reauthentication_needed"
    answer = call_api(api, tenant.owner, tenant, auth)  # asked again: still refused, told once
    assert answer.status_code == 409
    assert server.counters()["api_requests"] == requests_before
    assert needs_reauth_emails(auth) == 1


def test_an_edit_the_review_never_saw_is_still_refused_at_the_call(tenant, server, attacker):
    """A change written without the API (a catalog load, a shell): the HTTP client refuses and
    moves the auth to needs_reauth itself."""
    service, auth = owners_token_auth_on_contributors_service(tenant, server)
    Service.objects.filter(pk=service.pk).update(base_url=attacker + "/api")
    auth = Authentication.objects.select_related("service").get(pk=auth.pk)
    before = server.counters()["api_requests"]

    with pytest.raises(Exception) as refused:
        http_request(authentication=auth, method="GET", path_or_url="/echo")

    assert refused.value.code == "reauthentication_needed"
    assert server.counters()["api_requests"] == before
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.NEEDS_REAUTH
    assert "granted for http://127.0.0.1" in stored.status_reason
    assert needs_reauth_emails(auth) == 1


def test_a_path_only_edit_on_the_same_origin_needs_nothing(tenant, server, api):
    service, auth = owners_token_auth_on_contributors_service(tenant, server)

    edited = patch_service(
        api, tenant.contributor, tenant, service, {"base_url": server.base_url + "/api/echo"}
    )

    assert edited.status_code == 200, edited.content
    assert [w for w in edited.json()["warnings"] if w["code"] == "reauthentication_needed"] == []
    assert Authentication.objects.get(pk=auth.pk).status == AuthStatus.ACTIVE
    answer = call_api(api, tenant.owner, tenant, auth, path="/items")
    assert answer.status_code == 200, answer.content
    assert '"/api/echo/items"' in answer.json()["body"]
    assert not AuthEvent.objects.filter(kind=EventKind.SERVICE_CHANGED).exists()


def test_re_authenticating_trusts_the_new_address(tenant, server, attacker, api):
    service, auth = owners_token_auth_on_contributors_service(tenant, server)
    patch_service(api, tenant.contributor, tenant, service, {"base_url": attacker + "/api"})

    again = api.as_user(tenant.owner).post(
        reverse("authentication-reauthenticate", kwargs={**org_kwargs(tenant), "pk": auth.pk}),
        {"credentials": {"api_key": API_KEY}},
        format="json",
    )

    assert again.status_code == 200, again.content
    assert again.json()["status"] == "active"
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.grant["urls"]["base_url"]["origin"] == attacker
    answer = call_api(api, tenant.owner, tenant, auth)
    assert answer.status_code == 200, answer.content  # the owner chose to trust it


def test_a_moved_token_url_never_receives_the_refresh_token(
    tenant, server, resource_owner, attacker
):
    """Nobody acting: the scheduled refresh is where the refresh token and client secret would
    leave. The edit here bypasses the review, as a direct database change would."""
    auth = owners_oauth_auth(tenant, server, resource_owner)
    Service.objects.filter(pk=auth.service_id).update(token_url=attacker + "/o/token/")
    token_requests = server.counters()["token_requests"]

    for _ in range(2):  # the second attempt finds it waiting for its owner, and says nothing
        with pytest.raises(RefreshRejected):
            authentication_refresh(authentication_id=auth.pk, force=True)

    assert server.counters()["token_requests"] == token_requests
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.NEEDS_REAUTH
    assert "token URL changed" in stored.status_reason
    assert stored.refresh_due_at is None
    assert stored.refresh_token.reveal() == auth.refresh_token.reveal()
    assert needs_reauth_emails(auth) == 1
    # Not an early death: the provider never refused anything.
    assert not AuthEvent.objects.filter(kind=EventKind.EXPIRED_EARLY).exists()


def test_a_changed_client_id_stops_the_refresh(tenant, server, resource_owner):
    auth = owners_oauth_auth(tenant, server, resource_owner)
    Service.objects.filter(pk=auth.service_id).update(client_id="someone-elses-app")
    token_requests = server.counters()["token_requests"]

    with pytest.raises(RefreshRejected):
        authentication_refresh(authentication_id=auth.pk, force=True)

    assert server.counters()["token_requests"] == token_requests
    assert "client id changed" in Authentication.objects.get(pk=auth.pk).status_reason


def test_an_org_admin_editing_the_token_url_is_warned_and_strands_the_auth(
    tenant, server, resource_owner, attacker, api
):
    auth = owners_oauth_auth(tenant, server, resource_owner)

    edited = patch_service(
        api, tenant.admin, tenant, auth.service, {"token_url": attacker + "/o/token/"}
    )

    assert edited.status_code == 200, edited.content
    assert any(w["code"] == "reauthentication_needed" for w in edited.json()["warnings"])
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.NEEDS_REAUTH
    assert "token URL" in stored.status_reason


def test_revocation_is_not_sent_to_a_moved_revoke_url(tenant, server, resource_owner, attacker):
    auth = owners_oauth_auth(tenant, server, resource_owner)
    Service.objects.filter(pk=auth.service_id).update(revoke_url=attacker + "/o/revoke_token/")
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)

    result = authentication_delete(actor=tenant.actor(tenant.owner), authentication=auth)

    assert result["revoked"] is False
    assert "revocation URL changed" in result["revocation_error"]
    assert server.counters()["revoke_requests"] == 0
    assert not Authentication.objects.filter(pk=auth.pk).exists()


def test_the_admin_warns_the_editor(tenant, server, attacker, client):
    service, auth = owners_token_auth_on_contributors_service(tenant, server)
    client.force_login(tenant.owner)
    page = client.get(reverse("admin:services_service_change", args=[service.pk]))
    data = posted_from(page.context["adminform"].form)
    data["base_url"] = attacker + "/api"

    response = client.post(
        reverse("admin:services_service_change", args=[service.pk]), data, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert any("1 authentication granted before this change" in m for m in shown), shown
    assert Authentication.objects.get(pk=auth.pk).status == AuthStatus.NEEDS_REAUTH
