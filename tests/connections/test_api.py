"""The authentications API: create per flow, list/read without secrets, rename, move, delete with
revocation, re-authenticate in place, parameters."""

import pytest
from django.urls import reverse

from auths.models import Authentication, OAuthTransaction
from events.models import AuthEvent
from services.models import Service
from tests.connections.helpers import (
    custom_service,
    oauth2_service,
    org_kwargs,
    organization_workspace,
    personal_workspace,
)
from workspaces.models import OrganizationAPIKey

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={**org_kwargs(tenant), **kwargs})


def create_token(api, tenant, user, service, **payload):
    body = {"service": str(service.pk), "credentials": {"api_key": "tok-abcdef123456"}}
    body.update(payload)
    return api.as_user(user).post(url("authentication-token", tenant), body, format="json")


def test_token_auth_is_created_and_never_shows_its_secret(tenant, api):
    service = custom_service(tenant, base_url="https://api.example.com")
    response = create_token(api, tenant, tenant.contributor, service, name="My key")

    assert response.status_code == 201, response.content
    body = response.json()
    assert "tok-abcdef123456" not in response.content.decode()
    assert body["name"] == "My key"
    assert body["status"] == "active"
    assert body["warnings"] == []
    assert body["workspace"] == str(personal_workspace(tenant, tenant.contributor).pk)
    assert body["owner_email"] == tenant.contributor.email
    auth = Authentication.objects.get(pk=body["id"])
    assert auth.api_key.reveal() == "tok-abcdef123456"
    detail = api.get(url("authentication-detail", tenant, pk=auth.pk))
    assert "tok-abcdef123456" not in detail.content.decode()
    assert "api_key" not in detail.json() and "access_token" not in detail.json()


def test_list_shows_organization_workspace_auths_to_everyone_and_personal_ones_to_their_owner(
    tenant, api
):
    service = custom_service(tenant)
    shared = create_token(
        api, tenant, tenant.contributor, service, workspace=str(organization_workspace(tenant).pk)
    ).json()
    private = create_token(api, tenant, tenant.contributor, service).json()

    def listed(user):
        response = api.as_user(user).get(url("authentication-list", tenant))
        return {row["id"] for row in response.json()["results"]}

    assert listed(tenant.viewer) == {shared["id"]}
    assert listed(tenant.contributor) == {shared["id"], private["id"]}
    assert listed(tenant.owner) == {shared["id"], private["id"]}
    hidden = api.as_user(tenant.viewer).get(url("authentication-detail", tenant, pk=private["id"]))
    assert hidden.status_code == 404


def test_viewer_cannot_create_in_the_organization_workspace(tenant, api):
    response = create_token(
        api, tenant, tenant.viewer, custom_service(tenant),
        workspace=str(organization_workspace(tenant).pk),
    )  # fmt: skip
    assert response.status_code == 403


def test_services_of_other_organizations_cannot_be_used(tenant, other_tenant, api):
    response = create_token(api, tenant, tenant.contributor, custom_service(other_tenant))
    assert response.status_code == 400
    assert "service" in response.json()["error"]["fields"]


def test_rename_and_permissions(tenant, api):
    auth = create_token(
        api, tenant, tenant.contributor, custom_service(tenant),
        workspace=str(organization_workspace(tenant).pk),
    ).json()  # fmt: skip
    detail = url("authentication-detail", tenant, pk=auth["id"])
    refused = api.as_user(tenant.viewer).patch(detail, {"name": "x"}, format="json")
    assert refused.status_code == 403
    renamed = api.as_user(tenant.contributor).patch(detail, {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"


def test_move_between_workspaces(tenant, api):
    auth = create_token(api, tenant, tenant.contributor, custom_service(tenant)).json()
    move = url("authentication-move", tenant, pk=auth["id"])
    target = organization_workspace(tenant)

    # Into another member's personal workspace: refused (only its owner creates assets there).
    other_personal = personal_workspace(tenant, tenant.admin)
    refused = api.as_user(tenant.contributor).post(
        move, {"workspace": str(other_personal.pk)}, format="json"
    )
    assert refused.status_code == 404
    moved = api.as_user(tenant.contributor).post(move, {"workspace": str(target.pk)}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["workspace"] == str(target.pk)
    assert Authentication.objects.get(pk=auth["id"]).workspace == target


def test_parameters_are_validated_and_substituted(tenant, api):
    service = custom_service(
        tenant,
        base_url="https://{{shop}}.shops.example/api",
        parameters=[
            {"name": "shop", "title": "Shop", "required": True, "pattern": "[a-z0-9-]+"},
            {"name": "region", "default": "eu"},
            {"name": "signing_key", "secret": True},
        ],
    )
    missing = create_token(api, tenant, tenant.contributor, service)
    assert missing.status_code == 400
    assert "parameters.shop" in missing.json()["error"]["fields"]
    bad = create_token(api, tenant, tenant.contributor, service, parameters={"shop": "evil/x?"})
    assert bad.status_code == 400
    assert "pattern" in bad.json()["error"]["message"]
    unknown = create_token(api, tenant, tenant.contributor, service, parameters={"nope": "1"})
    assert "parameters.nope" in unknown.json()["error"]["fields"]

    ok = create_token(
        api, tenant, tenant.contributor, service,
        parameters={"shop": "acme", "signing_key": "sk-very-secret"},
    )  # fmt: skip
    assert ok.status_code == 201, ok.content
    assert ok.json()["parameters"] == {"shop": "acme", "region": "eu"}
    assert "sk-very-secret" not in ok.content.decode()
    auth = Authentication.objects.get(pk=ok.json()["id"])
    from connections.http_client import build_url

    assert build_url(authentication=auth, path_or_url="/v1/x") == (
        "https://acme.shops.example/api/v1/x"
    )


def test_generic_auth_from_an_inline_definition(tenant, api, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    response = api.as_user(tenant.contributor).post(
        url("authentication-generic", tenant),
        {
            "name": "Weather",
            "definition": {
                "base_url": "https://weather.example/v2",
                "credential_placement": "query",
                "credential_query_param": "apikey",
            },
            "credentials": {"api_key": "w-1234567890"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service"]["source"] == "generic"
    assert body["service"]["base_url"] == "https://weather.example/v2"
    service = Service.objects.get(pk=body["service"]["id"])
    assert service.organization == tenant.organization

    deleted = api.delete(url("authentication-detail", tenant, pk=body["id"]))
    assert deleted.status_code == 200
    assert not Service.objects.filter(pk=service.pk).exists()


def test_generic_auth_refuses_oauth_and_points_to_custom_services(tenant, api):
    response = api.as_user(tenant.contributor).post(
        url("authentication-generic", tenant),
        {
            "definition": {
                "base_url": "https://x.example",
                "token_url": "https://x.example/token",
                "auth_scheme": "oauth2",
            },
            "credentials": {"api_key": "k"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "custom service" in response.json()["error"]["message"]
    assert Authentication.objects.count() == 0


def test_client_credentials_via_api(tenant, server, api):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    response = api.as_user(tenant.contributor).post(
        url("authentication-client-credentials", tenant),
        {"service": str(service.pk), "scopes": ["read"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == ["read"]
    assert response.json()["has_refresh_token"] is False
    sent = server.last_token_request()
    assert sent["grant_type"] == "client_credentials"
    assert sent["form"]["scope"] == "read"


def test_password_grant_via_api_carries_the_warning_and_stores_no_password(
    tenant, server, resource_owner, api
):
    service = oauth2_service(tenant, server, grant_type="password")
    response = api.as_user(tenant.contributor).post(
        url("authentication-password", tenant),
        {
            "service": str(service.pk),
            "username": resource_owner["username"],
            "password": resource_owner["password"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "discouraged" in response.json()["warnings"][0]
    assert resource_owner["password"] not in response.content.decode()
    auth = Authentication.objects.get(pk=response.json()["id"])
    assert auth.password is None
    assert auth.refresh_token is not None


def test_token_endpoint_refusal_is_a_clear_error(tenant, server, api):
    service = oauth2_service(tenant, server, grant_type="password")
    response = api.as_user(tenant.contributor).post(
        url("authentication-password", tenant),
        {"service": str(service.pk), "username": "nobody", "password": "wrong-password"},
        format="json",
    )
    assert response.status_code == 502
    assert "did not issue a token" in response.json()["error"]["message"]
    assert "wrong-password" not in response.content.decode()


def test_wrong_flow_for_the_service_is_refused(tenant, server, api):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    response = create_token(api, tenant, tenant.contributor, service)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["service"]


def test_delete_revokes_at_the_provider(tenant, server, resource_owner, api):
    service = oauth2_service(tenant, server, grant_type="password")
    created = api.as_user(tenant.contributor).post(
        url("authentication-password", tenant),
        {
            "service": str(service.pk),
            "username": resource_owner["username"],
            "password": resource_owner["password"],
        },
        format="json",
    )
    auth = Authentication.objects.get(pk=created.json()["id"])
    refresh_token = auth.refresh_token.reveal()

    response = api.delete(url("authentication-detail", tenant, pk=auth.pk))

    assert response.status_code == 200, response.content
    assert response.json() == {"revoked": True, "revocation_error": ""}
    assert not Authentication.objects.filter(pk=auth.pk).exists()
    revoke = server.last_revoke_request()
    assert revoke["form"]["token_type_hint"] == "refresh_token"
    assert revoke["client_auth"] == "basic"
    assert server.tokens(refresh_token=refresh_token)["refresh_token_active"] is False
    event = AuthEvent.objects.get(authentication_ref=auth.pk, kind="deleted")
    assert "Revoked" in event.message


def test_reauthenticate_token_auth_in_place(tenant, api):
    auth = create_token(api, tenant, tenant.contributor, custom_service(tenant)).json()
    response = api.as_user(tenant.contributor).post(
        url("authentication-reauthenticate", tenant, pk=auth["id"]),
        {"credentials": {"api_key": "new-key-987654321"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == auth["id"]
    assert response.json()["version"] == auth["version"] + 1
    stored = Authentication.objects.get(pk=auth["id"])
    assert stored.api_key.reveal() == "new-key-987654321"
    assert AuthEvent.objects.filter(authentication=stored, kind="reauthorized").exists()


def test_reauthenticate_client_credentials_in_place(tenant, server, api):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    created = api.as_user(tenant.contributor).post(
        url("authentication-client-credentials", tenant), {"service": str(service.pk)}
    )
    auth_id = created.json()["id"]
    Authentication.objects.filter(pk=auth_id).update(status="needs_reauth", status_reason="x")
    response = api.post(url("authentication-reauthenticate", tenant, pk=auth_id), {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    assert Authentication.objects.count() == 1


def test_organization_api_key_creates_in_a_named_workspace_but_cannot_start_browser_flows(
    tenant, server, api
):
    _, key = OrganizationAPIKey.objects.create_key(name="b", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    service = custom_service(tenant)
    body = {"service": str(service.pk), "credentials": {"api_key": "k-123456789"}}
    no_workspace = api.post(url("authentication-token", tenant), body, format="json")
    assert no_workspace.status_code == 400
    assert "workspace" in no_workspace.json()["error"]["fields"]
    created = api.post(
        url("authentication-token", tenant),
        {**body, "workspace": str(organization_workspace(tenant).pk)},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["owner"] is None

    oauth = oauth2_service(tenant, server)
    started = api.post(
        url("authentication-oauth-start", tenant),
        {"service": str(oauth.pk), "workspace": str(organization_workspace(tenant).pk)},
        format="json",
    )
    assert started.status_code == 400
    assert "needs a person" in started.json()["error"]["message"]


def test_delete_still_deletes_when_revocation_fails(tenant, server, resource_owner, api):
    service = oauth2_service(
        tenant, server, grant_type="password", revoke_url=server.base_url + "/api/status/503"
    )
    created = api.as_user(tenant.contributor).post(
        url("authentication-password", tenant),
        {
            "service": str(service.pk),
            "username": resource_owner["username"],
            "password": resource_owner["password"],
        },
        format="json",
    )
    response = api.delete(url("authentication-detail", tenant, pk=created.json()["id"]))
    assert response.status_code == 200
    assert response.json() == {
        "revoked": False,
        "revocation_error": "The revocation endpoint answered HTTP 503.",
    }
    assert Authentication.objects.count() == 0


def test_connector_auths_work_with_the_http_client(tenant, server, api, settings):
    """The seed's "pre-existing auths": an auth made for a catalog connector calls an endpoint the
    connector does not cover."""
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    connector = Service.objects.create(
        source="connector",
        slug="echo-connector",
        name="Echo (catalog)",
        auth_scheme="token",
        base_url=server.base_url + "/api",
        credential_header_name="X-Api-Key",
        credential_prefix="",
    )
    server.set_api_key("connector-key-1", header="X-Api-Key")
    created = create_token(
        api, tenant, tenant.contributor, connector, credentials={"api_key": "connector-key-1"}
    )
    assert created.status_code == 201, created.content
    response = api.post(
        url("authentication-request", tenant, pk=created.json()["id"]),
        {"path": "/echo/not-covered-by-the-connector"},
        format="json",
    )
    assert response.status_code == 200
    assert '"type": "api_key"' in response.json()["body"]


def test_a_disabled_auth_is_neither_refreshed_nor_used_until_enabled(tenant, server, api):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    client = api.as_user(tenant.contributor)
    created = client.post(
        url("authentication-client-credentials", tenant),
        {"service": str(service.pk)},
        format="json",
    ).json()
    pk = created["id"]
    assert created["status"] == "active"
    assert Authentication.objects.get(pk=pk).refresh_due_at is not None

    disabled = client.post(url("authentication-disable", tenant, pk=pk))
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert Authentication.objects.get(pk=pk).refresh_due_at is None  # the scan skips it
    refused = client.post(
        url("authentication-request", tenant, pk=pk), {"path": "/echo"}, format="json"
    )
    assert refused.status_code == 400 and "disabled" in refused.json()["error"]["message"]
    again = client.post(url("authentication-disable", tenant, pk=pk))
    assert again.status_code == 400
    # Another member cannot even see it (it is in the contributor's personal workspace).
    viewer = api.as_user(tenant.viewer)
    assert viewer.post(url("authentication-enable", tenant, pk=pk)).status_code == 404

    client = api.as_user(tenant.contributor)
    enabled = client.post(url("authentication-enable", tenant, pk=pk))
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    assert Authentication.objects.get(pk=pk).refresh_due_at is not None
    kinds = list(
        AuthEvent.objects.filter(authentication_ref=pk)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["disabled", "enabled"]
    answered = client.post(
        url("authentication-request", tenant, pk=pk), {"path": "/echo"}, format="json"
    )
    assert answered.status_code == 200


@pytest.mark.parametrize("expires_in", ["1e400", "99999999999999"])
def test_a_lifetime_no_datetime_can_hold_is_no_500_on_create(tenant, server, api, expires_in):
    service = oauth2_service(tenant, server, grant_type="client_credentials")
    server.set_fault(f"expires_in:{expires_in}", count=1, grant_type="client_credentials")
    response = api.as_user(tenant.contributor).post(
        url("authentication-client-credentials", tenant),
        {"service": str(service.pk)},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["access_token_expires_at"].startswith("20")  # clamped: ten years


@pytest.mark.timeout(60)  # a backtracking engine would not finish: fail instead of hanging
def test_a_catastrophic_parameter_pattern_is_answered_at_once(tenant, api):
    service = custom_service(
        tenant, parameters=[{"name": "account", "title": "Account", "pattern": "(a+)+$"}]
    )
    refused = create_token(
        api, tenant, tenant.contributor, service, parameters={"account": "a" * 64 + "!"}
    )
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["parameters.account"]
    accepted = create_token(
        api, tenant, tenant.contributor, service, parameters={"account": "a" * 64}
    )
    assert accepted.status_code == 201, accepted.content


def test_a_parameter_value_over_the_length_cap_is_refused(tenant, api):
    service = custom_service(tenant, parameters=[{"name": "shop"}])
    response = create_token(
        api, tenant, tenant.contributor, service, parameters={"shop": "s" * 2001}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["parameters.shop"]
    assert "at most 2,000 characters" in response.json()["error"]["message"]


# --- viewers create nothing ------------------------------------------------------------------------

IDP = {
    "authorize_url": "https://idp.example/authorize",
    "token_url": "https://idp.example/token",
    "client_id": "cid",
}
VIEWER_FLOWS = {
    "token": ("authentication-token", {"auth_scheme": "token"}, {"credentials": {"api_key": "k"}}),
    "generic": (
        "authentication-generic",
        None,
        {
            "name": "Weather",
            "definition": {
                "base_url": "https://weather.example/v2",
                "credential_placement": "query",
                "credential_query_param": "apikey",
            },
            "credentials": {"api_key": "w-1234567890"},
        },
    ),
    "client-credentials": (
        "authentication-client-credentials",
        {"auth_scheme": "oauth2", "grant_type": "client_credentials", **IDP},
        {},
    ),
    "password": (
        "authentication-password",
        {"auth_scheme": "oauth2", "grant_type": "password", **IDP},
        {"username": "ann", "password": "pw-1234567890"},
    ),
    "oauth2-start": (
        "authentication-oauth-start",
        {"auth_scheme": "oauth2", "grant_type": "authorization_code", **IDP},
        {},
    ),
    "oauth1-start": (
        "authentication-oauth-start",
        {"auth_scheme": "oauth1", "request_token_url": "https://idp.example/request", **IDP},
        {},
    ),
}


@pytest.mark.parametrize("flow", sorted(VIEWER_FLOWS))
@pytest.mark.parametrize("where", ["default", "personal"])
def test_a_viewer_creates_no_authentication_in_any_flow(flow, where, tenant, api):
    """A viewer reads what is shared with them and creates nothing, not even in their own
    personal workspace (the one place the workspace role check used to be skipped)."""
    name, service_fields, payload = VIEWER_FLOWS[flow]
    body = dict(payload)
    if service_fields is not None:
        body["service"] = str(custom_service(tenant, **service_fields).pk)
    if where == "personal":
        body["workspace"] = str(personal_workspace(tenant, tenant.viewer).pk)
    services_before = Service.objects.count()

    response = api.as_user(tenant.viewer).post(url(name, tenant), body, format="json")

    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "not_allowed"
    assert "viewer" in error["message"] and "contributor" in error["message"]
    assert not Authentication.objects.exists()
    assert not OAuthTransaction.objects.exists()
    assert Service.objects.count() == services_before


def test_a_contributor_still_creates_in_their_personal_workspace(tenant, api):
    response = create_token(api, tenant, tenant.contributor, custom_service(tenant))
    assert response.status_code == 201, response.content
