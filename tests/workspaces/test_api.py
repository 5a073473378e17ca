import pytest
from django.urls import reverse

from tests.lifecycle.factories import make_auth
from workspaces.models import Membership, OrganizationAPIKey, OrgRole, UserAPIKey, Workspace
from workspaces.shared_workspaces import workspace_create

pytestmark = pytest.mark.django_db


def org_url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def test_member_reads_organization_with_their_role(tenant, api):
    response = api.as_user(tenant.viewer).get(org_url("organization-detail", tenant))
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"


def test_only_owner_edits_organization(tenant, api):
    url = org_url("organization-detail", tenant)
    refused = api.as_user(tenant.admin).patch(url, {"name": "New"}, format="json")
    assert refused.status_code == 403
    assert "owner" in refused.json()["error"]["message"]
    done = api.as_user(tenant.owner).patch(url, {"name": "New"}, format="json")
    assert done.status_code == 200 and done.json()["name"] == "New"


def test_owner_sets_service_account(tenant, api):
    membership = tenant.membership(tenant.viewer)
    response = api.as_user(tenant.owner).patch(
        org_url("organization-detail", tenant), {"service_account": membership.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["service_account_email"] == tenant.viewer.email


def test_service_account_from_another_organization_is_a_field_error(tenant, other_tenant, api):
    foreign = other_tenant.membership(other_tenant.viewer)
    response = api.as_user(tenant.owner).patch(
        org_url("organization-detail", tenant), {"service_account": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert "service_account" in response.json()["error"]["fields"]


def test_admin_invites_a_member_and_contributor_cannot(tenant, api, mailoutbox):
    # Adding a member sends an invitation; the membership comes when the person accepts
    # (tests/workspaces/test_invitations.py), so the answer is the invitation, not a membership.
    url = org_url("member-list", tenant)
    refused = api.as_user(tenant.contributor).post(url, {"email": "n@example.com"}, format="json")
    assert refused.status_code == 403
    added = api.as_user(tenant.admin).post(
        url, {"email": "n@example.com", "role": "viewer"}, format="json"
    )
    assert added.status_code == 201
    body = added.json()
    assert body["status"] == "pending" and body["role"] == "viewer"
    assert body["detail"].startswith("Invitation sent to n@example.com")
    assert "token" not in str(body) and "/account/invitations/" not in str(body)
    assert [m.to for m in mailoutbox] == [["n@example.com"]]
    assert not Membership.objects.filter(user__email="n@example.com").exists()
    assert not Workspace.objects.filter(personal_owner__user__email="n@example.com").exists()


def test_field_errors_name_the_field_and_the_fix(tenant, api):
    response = api.as_user(tenant.owner).post(
        org_url("member-list", tenant), {"email": "not-an-email", "role": "emperor"}, format="json"
    )
    body = response.json()["error"]
    assert response.status_code == 400
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"email", "role"}
    assert body["message"].startswith("email:")


def test_role_change_and_deactivate_through_api(tenant, api):
    client = api.as_user(tenant.owner)
    membership = tenant.membership(tenant.viewer)
    changed = client.patch(
        org_url("member-detail", tenant, pk=membership.pk), {"role": "contributor"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["role"] == "contributor"
    gone = client.post(org_url("member-deactivate", tenant, pk=membership.pk))
    assert gone.status_code == 200 and gone.json()["is_active"] is False


def test_second_owner_through_api_is_refused_with_the_fix(tenant, api):
    membership = tenant.membership(tenant.viewer)
    response = api.as_user(tenant.owner).patch(
        org_url("member-detail", tenant, pk=membership.pk), {"role": "owner"}, format="json"
    )
    assert response.status_code == 400
    assert "transfer" in response.json()["error"]["message"]


def test_ownership_transfer_through_api(tenant, api):
    target = tenant.membership(tenant.admin)
    response = api.as_user(tenant.owner).post(
        org_url("organization-transfer-ownership", tenant), {"membership": target.pk}, format="json"
    )
    assert response.status_code == 200
    assert Membership.objects.get(pk=target.pk).role == OrgRole.OWNER


def test_workspace_crud_and_membership(tenant, api):
    client = api.as_user(tenant.contributor)
    created = client.post(org_url("workspace-list", tenant), {"name": "Team"}, format="json")
    assert created.status_code == 201 and created.json()["kind"] == "shared"
    pk = created.json()["id"]
    renamed = client.patch(
        org_url("workspace-detail", tenant, pk=pk), {"name": "Team 2"}, format="json"
    )
    assert renamed.json()["name"] == "Team 2"
    member = client.post(
        org_url("workspace-member-list", tenant, workspace_pk=pk),
        {"membership": tenant.membership(tenant.viewer).pk, "role": "viewer"},
        format="json",
    )
    assert member.status_code == 201
    listed = client.get(org_url("workspace-member-list", tenant, workspace_pk=pk))
    assert len(listed.json()["results"]) == 2
    deleted = client.delete(org_url("workspace-detail", tenant, pk=pk))
    assert deleted.status_code == 204


def test_creating_a_second_organization_workspace_is_refused(tenant, api):
    response = api.as_user(tenant.owner).post(
        org_url("workspace-list", tenant), {"name": "x", "kind": "organization"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["kind"]


def test_user_api_key_acts_as_its_user(tenant, api):
    _, key = UserAPIKey.objects.create_key(name="cli", user=tenant.viewer)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.get(org_url("organization-detail", tenant))
    assert response.status_code == 200 and response.json()["role"] == "viewer"


def test_organization_api_key_acts_as_admin_of_its_organization_only(tenant, api):
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    listed = api.get(reverse("organization-list"))
    assert [o["slug"] for o in listed.json()["results"]] == [tenant.organization.slug]
    added = api.post(org_url("member-list", tenant), {"email": "bot@example.com"}, format="json")
    assert added.status_code == 201


def test_invalid_and_revoked_api_keys_are_refused(tenant, api):
    key_obj, key = UserAPIKey.objects.create_key(name="cli", user=tenant.viewer)
    api.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert api.get(org_url("organization-detail", tenant)).status_code in (401, 403)
    key_obj.revoked = True
    key_obj.save()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get(org_url("organization-detail", tenant)).status_code in (401, 403)


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get(reverse("schema"))
    assert schema.status_code == 200
    assert b"/api/organizations/{organization_slug}/workspaces/" in schema.content
    assert api.get(reverse("api-docs")).status_code == 200


def test_list_endpoints_paginate(tenant, api):
    response = api.as_user(tenant.owner).get(org_url("member-list", tenant), {"limit": 2})
    body = response.json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]


def test_person_creates_lists_and_revokes_their_own_api_key(tenant, api):
    client = api.as_user(tenant.contributor)
    created = client.post(reverse("user-api-key-list"), {"name": "laptop"}, format="json")
    assert created.status_code == 201
    key, prefix = created.json()["key"], created.json()["prefix"]
    listed = client.get(reverse("user-api-key-list")).json()["results"]
    assert [k["prefix"] for k in listed] == [prefix] and "key" not in listed[0]
    assert key not in str(UserAPIKey.objects.values_list()), "only the hash is stored"
    api.logout()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get(org_url("organization-detail", tenant)).status_code == 200
    api.credentials()
    client = api.as_user(tenant.contributor)
    assert (
        client.delete(reverse("user-api-key-detail", kwargs={"prefix": prefix})).status_code == 204
    )
    api.logout()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get(org_url("organization-detail", tenant)).status_code in (401, 403)


def test_nobody_revokes_another_persons_api_key(tenant, api):
    key_obj, _ = UserAPIKey.objects.create_key(name="cli", user=tenant.viewer)
    response = api.as_user(tenant.owner).delete(
        reverse("user-api-key-detail", kwargs={"prefix": key_obj.prefix})
    )
    assert response.status_code == 404
    assert not UserAPIKey.objects.get(prefix=key_obj.prefix).revoked


def test_only_the_owner_creates_organization_api_keys(tenant, api):
    url = org_url("organization-api-key-list", tenant)
    refused = api.as_user(tenant.admin).post(url, {"name": "backend"}, format="json")
    assert refused.status_code == 403
    created = api.as_user(tenant.owner).post(url, {"name": "backend"}, format="json")
    assert created.status_code == 201 and created.json()["key"]
    assert OrganizationAPIKey.objects.filter(organization=tenant.organization).count() == 1


def test_api_key_without_a_name_is_a_field_error(tenant, api):
    response = api.as_user(tenant.owner).post(
        org_url("organization-api-key-list", tenant), {"name": " "}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]


def test_workspace_member_is_read_changed_and_removed(tenant, api):
    client = api.as_user(tenant.contributor)
    pk = client.post(org_url("workspace-list", tenant), {"name": "Team"}, format="json").json()[
        "id"
    ]
    row = client.post(
        org_url("workspace-member-list", tenant, workspace_pk=pk),
        {"membership": tenant.membership(tenant.viewer).pk, "role": "contributor"},
        format="json",
    ).json()
    url = org_url("workspace-member-detail", tenant, workspace_pk=pk, pk=row["id"])
    assert client.get(url).json()["email"] == tenant.viewer.email
    changed = client.patch(url, {"role": "viewer"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_owner_revokes_an_organization_api_key(tenant, api):
    client = api.as_user(tenant.owner)
    created = client.post(
        org_url("organization-api-key-list", tenant), {"name": "backend"}, format="json"
    ).json()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    assert api.get(org_url("organization-detail", tenant)).status_code == 200
    api.credentials()
    url = org_url("organization-api-key-detail", tenant, prefix=created["prefix"])
    assert api.as_user(tenant.admin).delete(url).status_code == 404  # owners only see keys
    assert api.as_user(tenant.owner).delete(url).status_code == 204
    assert OrganizationAPIKey.objects.get(prefix=created["prefix"]).revoked
    api.logout()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    assert api.get(org_url("organization-detail", tenant)).status_code == 401


def test_health_answers_without_credentials(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_deleting_a_workspace_that_holds_authentications_says_what_to_move_first(tenant, api):
    client = api.as_user(tenant.contributor)
    pk = client.post(org_url("workspace-list", tenant), {"name": "Team"}, format="json").json()[
        "id"
    ]
    workspace = Workspace.objects.get(pk=pk)
    auths = [make_auth(tenant, workspace=workspace, name=name) for name in ("A", "B", "C", "D")]
    url = org_url("workspace-detail", tenant, pk=pk)

    refused = client.delete(url)

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "workspace_not_empty"
    assert error["message"] == (
        "Workspace 'Team' still holds 4 authentications (A, B, C…): move or delete them first."
    )
    assert Workspace.objects.filter(pk=pk).exists()
    for auth in auths[1:]:
        auth.delete()
    assert client.delete(url).json()["error"]["message"] == (
        "Workspace 'Team' still holds 1 authentication (A): move or delete it first."
    )
    auths[0].delete()
    assert client.delete(url).status_code == 204


def test_a_generic_authentication_is_named_once_not_with_its_inline_service(tenant, api):
    client = api.as_user(tenant.owner)
    workspace = workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    created = client.post(
        org_url("authentication-generic", tenant),
        {
            "name": "Weather",
            "workspace": str(workspace.pk),
            "definition": {
                "base_url": "https://weather.example/v2",
                "credential_placement": "query",
                "credential_query_param": "apikey",
            },
            "credentials": {"api_key": "w-1234567890"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content

    refused = client.delete(org_url("workspace-detail", tenant, pk=workspace.pk))

    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Workspace 'Team' still holds 1 authentication (Weather): move or delete it first."
    )
