"""End users through the API, as the customer's backend drives them (an organization API key):
create, find by the customer's own id, update, delete (their auths revoked at the real loopback
provider, their instances deleted), and credentials the backend already holds imported as their
auths, then refreshed by the real refresh task."""

import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from embedded.models import SolutionInstance
from events.models import AuthEvent
from events.webhooks import event_payload
from lifecycle.tasks import refresh_authentication
from tests.conftest import build_tenant
from tests.connections.helpers import custom_service
from tests.embedded.builders import (
    backend,
    crm_service,
    end_user_auth,
    make_end_user,
    make_project,
)
from tests.lifecycle.worker import issue_tokens
from workspaces.models import Edition, EndUser, WorkspaceKind

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def error_fields(response) -> dict:
    return response.json()["error"].get("fields", {})


def provider_tokens(server, service) -> dict:
    """Tokens the customer's backend got from the provider itself, before it used the platform."""
    account = server.create_user(f"held-{secrets.token_hex(4)}")
    client = {"client_id": service.client_id, "client_secret": service.client_secret.reveal()}
    return issue_tokens(server, client, account)


def token_service(tenant):
    return custom_service(tenant, name="Mailer", base_url="https://api.mailer.example")


def instance_of(tenant, service, end_user, auth):
    """A live solution with one CRM slot, and the end user's instance bound to `auth`."""
    client = backend(tenant)
    project = make_project(
        tenant,
        auth_slots=[{"external_id": "crm", "title": "CRM", "service": service, "scopes": ["read"]}],
    )
    solution = client.post(url("solution-list", tenant), {"project": str(project.pk)}).json()
    assert client.post(url("solution-publish", tenant, pk=solution["id"])).status_code == 201
    created = client.post(
        url("instance-list", tenant),
        {
            "solution": solution["id"],
            "end_user": str(end_user.pk),
            "auth_values": [{"external_id": "crm", "authentication_id": str(auth.pk)}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


# --- create, find, update, delete ----------------------------------------------------------------


def test_the_backend_creates_finds_updates_and_deletes_an_end_user(embedded_tenant):
    tenant, client = embedded_tenant, backend(embedded_tenant)

    created = client.post(
        url("end-user-list", tenant),
        {"external_user_id": "customer-42", "name": "Pat Doe", "metadata": {"plan": "pro"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    end_user = created.json()
    assert end_user["external_user_id"] == "customer-42"
    assert end_user["metadata"] == {"plan": "pro"} and end_user["is_test_user"] is False
    make_end_user(tenant, "customer-7")

    found = client.get(url("end-user-list", tenant), {"external_user_id": "customer-42"}).json()
    assert [e["id"] for e in found["results"]] == [end_user["id"]]
    searched = client.get(url("end-user-list", tenant), {"search": "pat d"}).json()
    assert [e["id"] for e in searched["results"]] == [end_user["id"]]
    everyone = client.get(url("end-user-list", tenant)).json()
    assert {e["external_user_id"] for e in everyone["results"]} == {"customer-42", "customer-7"}
    detail = client.get(url("end-user-detail", tenant, pk=end_user["id"]))
    assert detail.json() == end_user

    updated = client.patch(
        url("end-user-detail", tenant, pk=end_user["id"]),
        {"name": "Pat D.", "is_test_user": True, "metadata": {"plan": "team"}},
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["name"] == "Pat D."
    assert updated.json()["is_test_user"] is True
    assert updated.json()["metadata"] == {"plan": "team"}
    assert updated.json()["external_user_id"] == "customer-42"

    deleted = client.delete(url("end-user-detail", tenant, pk=end_user["id"]))
    assert deleted.status_code == 200, deleted.content
    assert deleted.json() == {
        "authentications_deleted": 0,
        "authentications_revoked": 0,
        "revocations_failed": [],
        "instances_deleted": 0,
    }
    assert client.get(url("end-user-detail", tenant, pk=end_user["id"])).status_code == 404
    event = AuthEvent.objects.get(kind="end_user_deleted")
    assert event.context == {"end_user": {"id": end_user["id"], "external_user_id": "customer-42"}}


def test_a_duplicate_external_user_id_is_refused_on_its_field(embedded_tenant):
    tenant, client = embedded_tenant, backend(embedded_tenant)
    make_end_user(tenant, "customer-42")
    other = make_end_user(tenant, "customer-43")

    created = client.post(url("end-user-list", tenant), {"external_user_id": "customer-42"})
    assert created.status_code == 400
    assert created.json()["error"]["code"] == "rule_violation"
    assert "customer-42" in error_fields(created)["external_user_id"][0]

    renamed = client.patch(
        url("end-user-detail", tenant, pk=other.pk), {"external_user_id": "customer-42"}
    )
    assert renamed.status_code == 400
    assert "external_user_id" in error_fields(renamed)
    assert EndUser.objects.get(pk=other.pk).external_user_id == "customer-43"


def test_the_same_external_user_id_may_exist_in_another_organization(embedded_tenant):
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    make_end_user(rival, "customer-42")
    created = backend(embedded_tenant).post(
        url("end-user-list", embedded_tenant), {"external_user_id": "customer-42"}
    )
    assert created.status_code == 201, created.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_user_id": "  "}, "external_user_id"),
        ({"external_user_id": "a\nb"}, "external_user_id"),
        ({"external_user_id": "x", "metadata": ["not", "an", "object"]}, "metadata"),
        ({"external_user_id": "x", "metadata": {"notes": "n" * 9000}}, "metadata"),
        ({"external_user_id": "x", "name": "Line\rbreak"}, "name"),
    ],
)
def test_bad_values_are_refused_on_their_field(embedded_tenant, body, field):
    response = backend(embedded_tenant).post(
        url("end-user-list", embedded_tenant), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not EndUser.objects.exists()


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "with_end_user"),
    [
        ("end-user-list", "get", False),
        ("end-user-list", "post", False),
        ("end-user-detail", "get", True),
        ("end-user-detail", "patch", True),
        ("end-user-detail", "delete", True),
        ("end-user-authentications", "get", True),
        ("end-user-authentications", "post", True),
    ],
)
def test_a_platform_organization_is_told_end_users_belong_to_the_embedded_edition(
    tenant, name, method, with_end_user
):
    kwargs = {"pk": make_end_user(tenant).pk} if with_end_user else {}
    response = getattr(backend(tenant), method)(url(name, tenant, **kwargs), {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "embedded_edition_required"


def test_a_member_who_is_not_an_admin_is_refused(embedded_tenant, api):
    tenant = embedded_tenant
    end_user = make_end_user(tenant)
    member = api.as_user(tenant.contributor)
    for response in (
        member.get(url("end-user-list", tenant)),
        member.post(url("end-user-list", tenant), {"external_user_id": "mine"}),
        member.get(url("end-user-detail", tenant, pk=end_user.pk)),
        member.delete(url("end-user-detail", tenant, pk=end_user.pk)),
        member.get(url("end-user-authentications", tenant, pk=end_user.pk)),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "not_allowed"
    assert EndUser.objects.filter(pk=end_user.pk).exists()
    # The org's owner and admins may, with their own sign-in.
    assert api.as_user(tenant.admin).get(url("end-user-list", tenant)).status_code == 200


def test_another_organizations_end_users_are_invisible(embedded_tenant):
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    theirs = make_end_user(rival, "their-customer")
    client = backend(embedded_tenant)

    listing = client.get(url("end-user-list", embedded_tenant)).json()
    by_id = client.get(
        url("end-user-list", embedded_tenant), {"external_user_id": "their-customer"}
    ).json()
    assert listing["results"] == [] and by_id["results"] == []
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            url("end-user-detail", embedded_tenant, pk=theirs.pk), {}, format="json"
        )
        assert response.status_code == 404
    assert (
        client.get(url("end-user-authentications", embedded_tenant, pk=theirs.pk)).status_code
        == 404
    )
    assert EndUser.objects.filter(pk=theirs.pk).exists()


# --- importing credentials -----------------------------------------------------------------------


def test_a_token_auth_is_imported_for_the_end_user_and_never_shown(embedded_tenant):
    tenant, client = embedded_tenant, backend(embedded_tenant)
    end_user = make_end_user(tenant, "customer-42")
    service = token_service(tenant)

    imported = client.post(
        url("end-user-authentications", tenant, pk=end_user.pk),
        {"service": str(service.pk), "credentials": {"api_key": "sk-live-123456789"}},
        format="json",
    )

    assert imported.status_code == 201, imported.content
    body = imported.json()
    assert "sk-live-123456789" not in imported.content.decode()
    assert body["name"] == "Mailer (customer-42)" and body["owner"] is None
    assert body["status"] == "active"
    auth = Authentication.objects.get(pk=body["id"])
    assert auth.end_user == end_user and auth.owner is None
    assert auth.workspace.kind == WorkspaceKind.EMBEDDED
    assert auth.api_key.reveal() == "sk-live-123456789"
    assert auth.grant["urls"]["base_url"]["origin"] == "https://api.mailer.example:443"
    created = AuthEvent.objects.get(authentication=auth, kind="created")
    assert created.message.startswith("Imported for end user customer-42 by API key of")
    listed = client.get(url("end-user-authentications", tenant, pk=end_user.pk)).json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]
    assert "sk-live-123456789" not in str(listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "credentials"),
        ({"credentials": {"password": "only"}}, "credentials.api_key"),
        ({"credentials": {"api_key": "k"}, "access_token": "at"}, "access_token"),
        ({"credentials": {"api_key": "k"}, "parameters": {"region": "eu"}}, "parameters.region"),
    ],
)
def test_a_token_import_names_what_is_missing_or_wrong(embedded_tenant, body, field):
    end_user = make_end_user(embedded_tenant)
    service = token_service(embedded_tenant)
    response = backend(embedded_tenant).post(
        url("end-user-authentications", embedded_tenant, pk=end_user.pk),
        {"service": str(service.pk), **body},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not Authentication.objects.exists()


def test_imported_oauth_tokens_are_kept_and_refreshed_by_the_refresh_task(embedded_tenant, server):
    tenant, client = embedded_tenant, backend(embedded_tenant)
    end_user = make_end_user(tenant)
    service = crm_service(tenant, server)
    held = provider_tokens(server, service)
    expired = timezone.now() - timedelta(minutes=1)

    imported = client.post(
        url("end-user-authentications", tenant, pk=end_user.pk),
        {
            "service": str(service.pk),
            "access_token": held["access_token"],
            "refresh_token": held["refresh_token"],
            "expires_at": expired.isoformat(),
            "scopes": ["read"],
        },
        format="json",
    )

    assert imported.status_code == 201, imported.content
    assert held["access_token"] not in imported.content.decode()
    assert held["refresh_token"] not in imported.content.decode()
    assert imported.json()["has_refresh_token"] is True
    auth = Authentication.objects.get(pk=imported.json()["id"])
    assert auth.end_user == end_user and auth.scopes == ["read"]
    assert auth.access_token.reveal() == held["access_token"]
    assert auth.access_token_expires_at == expired
    assert auth.grant["urls"]["token_url"]["template"] == server.token_url
    # Scheduled like any auth: its access token is past, so it is due now.
    assert auth.refresh_due_at is not None and auth.refresh_due_at <= timezone.now()

    assert refresh_authentication(str(auth.pk)) == "refreshed"

    fresh = Authentication.objects.get(pk=auth.pk)
    assert fresh.version == auth.version + 1 and fresh.status == AuthStatus.ACTIVE
    assert fresh.access_token.reveal() != held["access_token"]
    assert fresh.access_token_expires_at > timezone.now()
    rotated = fresh.refresh_token.reveal()
    assert rotated != held["refresh_token"]
    assert server.tokens(refresh_token=rotated)["refresh_token_active"] is True
    assert fresh.refresh_due_at > timezone.now()
    kinds = set(AuthEvent.objects.filter(authentication=auth).values_list("kind", flat=True))
    assert kinds == {"created", "refreshed"}


def test_imported_oauth_tokens_without_an_expiry_get_the_services_default_lifetime(
    embedded_tenant, server
):
    end_user = make_end_user(embedded_tenant)
    service = crm_service(embedded_tenant, server)
    before = timezone.now()
    response = backend(embedded_tenant).post(
        url("end-user-authentications", embedded_tenant, pk=end_user.pk),
        {"service": str(service.pk), "access_token": "at-held-by-the-backend"},
        format="json",
    )
    after = timezone.now()
    assert response.status_code == 201, response.content
    auth = Authentication.objects.get(pk=response.json()["id"])
    assert auth.refresh_token is None
    assert auth.scopes == ["read", "write"]  # the service's defaults
    hour = timedelta(seconds=3600)
    assert before + hour <= auth.access_token_expires_at <= after + hour


@pytest.mark.parametrize(
    ("tokens", "field"),
    [
        ({"refresh_token": "rt"}, "access_token"),
        ({"access_token": "at with spaces"}, "access_token"),
        ({"access_token": "at", "expires_in": 0}, "expires_in"),
        ({"access_token": "at", "expires_in": 400_000_000}, "expires_in"),
        (
            {"access_token": "at", "expires_in": 60, "expires_at": "2030-01-01T00:00:00Z"},
            "expires_in",
        ),
        ({"access_token": "at", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"access_token": "at", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"access_token": "at", "scopes": ["admin"]}, "scopes"),
        ({"access_token": "at", "credentials": {"api_key": "k"}}, "credentials"),
    ],
)
def test_an_oauth_import_refuses_what_is_not_sane(embedded_tenant, server, tokens, field):
    end_user = make_end_user(embedded_tenant)
    service = crm_service(embedded_tenant, server)
    response = backend(embedded_tenant).post(
        url("end-user-authentications", embedded_tenant, pk=end_user.pk),
        {"service": str(service.pk), **tokens},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert "at with spaces" not in response.content.decode()
    assert not Authentication.objects.exists()


def test_an_import_needs_a_service_the_organization_can_see(embedded_tenant, server):
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    theirs = crm_service(rival, server)
    end_user = make_end_user(embedded_tenant)
    response = backend(embedded_tenant).post(
        url("end-user-authentications", embedded_tenant, pk=end_user.pk),
        {"service": str(theirs.pk), "access_token": "at"},
        format="json",
    )
    assert response.status_code == 400
    assert "service" in error_fields(response)
    assert not Authentication.objects.exists()


# --- deleting ------------------------------------------------------------------------------------


def test_deleting_an_end_user_revokes_their_auths_at_the_provider_and_deletes_everything(
    embedded_tenant, server
):
    tenant, client = embedded_tenant, backend(embedded_tenant)
    service = crm_service(tenant, server)
    end_user = make_end_user(tenant, "leaving-customer")
    bound = end_user_auth(end_user, service, server, scopes=["read"])
    spare = end_user_auth(end_user, service, server, scopes=["read"])
    refresh_tokens = [a.refresh_token.reveal() for a in (bound, spare)]
    instance_id = instance_of(tenant, service, end_user, bound)
    bystander = make_end_user(tenant, "staying-customer")
    kept = end_user_auth(bystander, service, server)

    response = client.delete(url("end-user-detail", tenant, pk=end_user.pk))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "authentications_deleted": 2,
        "authentications_revoked": 2,
        "revocations_failed": [],
        "instances_deleted": 1,
    }
    assert server.counters()["revoke_requests"] == 2
    assert server.last_revoke_request()["form"]["token_type_hint"] == "refresh_token"
    for token in refresh_tokens:
        assert server.tokens(refresh_token=token)["refresh_token_active"] is False
    assert not EndUser.objects.filter(pk=end_user.pk).exists()
    assert not Authentication.objects.filter(pk__in=[bound.pk, spare.pk]).exists()
    assert not SolutionInstance.objects.filter(pk=instance_id).exists()
    assert Authentication.objects.filter(pk=kept.pk).exists()

    deleted = AuthEvent.objects.get(authentication_ref=bound.pk, kind="deleted")
    assert "Revoked at the provider" in deleted.message
    assert deleted.context == {
        "end_user": {"id": str(end_user.pk), "external_user_id": "leaving-customer"},
        "instance_ids": [instance_id],
    }
    summary = AuthEvent.objects.get(kind="end_user_deleted")
    assert summary.data["authentications_revoked"] == 2
    assert summary.data["instances_deleted"] == 1
    assert "leaving-customer" in summary.message
    payload = event_payload(summary)
    assert payload["type"] == "auth.end_user_deleted" and payload["authentication"] is None
    assert payload["end_user"] == {"id": str(end_user.pk), "external_user_id": "leaving-customer"}


def test_a_failing_revocation_still_deletes_and_is_reported(embedded_tenant, server):
    tenant = embedded_tenant
    service = crm_service(tenant, server)
    service.revoke_url = server.base_url + "/api/status/503"
    service.save(update_fields=["revoke_url"])
    end_user = make_end_user(tenant)
    auth = end_user_auth(end_user, service, server)

    response = backend(tenant).delete(url("end-user-detail", tenant, pk=end_user.pk))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "authentications_deleted": 1,
        "authentications_revoked": 0,
        "revocations_failed": [
            {
                "authentication_id": str(auth.pk),
                "name": auth.name,
                "error": "The revocation endpoint answered HTTP 503.",
            }
        ],
        "instances_deleted": 0,
    }
    assert not Authentication.objects.filter(pk=auth.pk).exists()
    assert not EndUser.objects.filter(pk=end_user.pk).exists()
    event = AuthEvent.objects.get(authentication_ref=auth.pk, kind="deleted")
    assert "Revocation at the provider failed" in event.message
    assert AuthEvent.objects.get(kind="end_user_deleted").data["revocations_failed"][0][
        "authentication_id"
    ] == str(auth.pk)
