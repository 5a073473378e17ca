"""The organization's admin as a console: settings with help text (expiry warning window,
embedding, branding), the on-prem allow-list (superusers edit it, owners only see it), members'
API keys an owner can see and revoke, and an API-key form without a "Revoked" box."""

from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse

from infrastructure.errors import NotAllowed, NotFound
from workspaces.api_key_management import member_api_key_revoke, user_api_key_create
from workspaces.members import membership_create
from workspaces.models import Membership, Organization, OrgRole, UserAPIKey
from workspaces.organizations import organization_onprem_hosts_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def change_url(organization):
    return reverse("admin:workspaces_organization_change", args=[organization.pk])


def form(organization, **values):
    return {"name": organization.name, "edition": organization.edition, **values}


def test_owner_sets_the_expiry_warning_window_with_help_text(owner_client, tenant):
    page = owner_client.get(change_url(tenant.organization)).content.decode()
    assert "Expiry warning (days)" in page and "turns “expiring”" in page
    assert "Embedding and branding" in page
    saved = owner_client.post(
        change_url(tenant.organization), form(tenant.organization, expiry_warning_days="3")
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Organization.objects.get(pk=tenant.organization.pk).expiry_warning_days == 3


def test_an_expiry_window_out_of_range_is_refused_beside_the_field(owner_client, tenant):
    refused = owner_client.post(
        change_url(tenant.organization), form(tenant.organization, expiry_warning_days="0")
    )
    assert refused.status_code == 200
    assert "Give a number of days from 1 to 60." in refused.content.decode()
    assert Organization.objects.get(pk=tenant.organization.pk).expiry_warning_days == 7


def test_owner_sees_the_onprem_allow_list_read_only_and_cannot_change_it(owner_client, tenant):
    Organization.objects.filter(pk=tenant.organization.pk).update(
        onprem_allowed_hosts=["erp.corp.example"]
    )
    page = owner_client.get(change_url(tenant.organization)).content.decode()
    assert "erp.corp.example" in page
    assert 'name="onprem_allowed_hosts"' not in page
    owner_client.post(
        change_url(tenant.organization),
        form(tenant.organization, onprem_allowed_hosts="10.0.0.5\nevil.internal"),
    )
    organization = Organization.objects.get(pk=tenant.organization.pk)
    assert organization.onprem_allowed_hosts == ["erp.corp.example"]
    with pytest.raises(NotAllowed):
        organization_onprem_hosts_set(user=tenant.owner, organization=organization, hosts=["x"])


def test_a_superuser_edits_the_onprem_allow_list(client, tenant, django_user_model):
    superuser = django_user_model.objects.create_superuser(
        email="root@platform.example", password="pw-for-tests-123"
    )
    client.force_login(superuser)
    url = change_url(tenant.organization)
    assert 'name="onprem_allowed_hosts"' in client.get(url).content.decode()
    # What the browser sends back: every field as it is, the allow-list changed.
    unchanged = form(tenant.organization, expiry_warning_days="7")
    refused = client.post(url, {**unchanged, "onprem_allowed_hosts": "https://erp/x"})
    assert "is not a host name" in refused.content.decode()
    saved = client.post(url, {**unchanged, "onprem_allowed_hosts": "ERP.corp.example\n10.0.0.5"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    organization = Organization.objects.get(pk=tenant.organization.pk)
    assert organization.onprem_allowed_hosts == ["erp.corp.example", "10.0.0.5"]
    # Anything else is the owner's to edit.
    other = client.post(url, {**unchanged, "name": "Renamed", "onprem_allowed_hosts": ""})
    assert "its owner edits the rest" in other.content.decode()
    unchanged_row = Organization.objects.get(pk=tenant.organization.pk)
    assert unchanged_row.name == tenant.organization.name
    assert unchanged_row.onprem_allowed_hosts == ["erp.corp.example", "10.0.0.5"]


def test_owner_sees_and_revokes_a_members_api_key(owner_client, tenant, other_tenant):
    key, _ = user_api_key_create(user=tenant.contributor, name="laptop script")
    theirs, _ = user_api_key_create(user=other_tenant.contributor, name="their script")
    changelist = reverse("admin:workspaces_userapikey_changelist")
    page = owner_client.get(changelist).content.decode()
    assert "laptop script" in page and "their script" not in page
    owner_client.post(changelist, {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk, theirs.pk]})
    assert UserAPIKey.objects.get(pk=key.pk).revoked is True
    assert UserAPIKey.objects.get(pk=theirs.pk).revoked is False


def test_revoking_a_key_of_someone_outside_the_organization_is_not_found(tenant, other_tenant):
    theirs, _ = user_api_key_create(user=other_tenant.contributor, name="their script")
    with pytest.raises(NotFound):
        member_api_key_revoke(actor=tenant.actor(tenant.owner), key=theirs)
    with pytest.raises(NotAllowed):
        mine, _ = user_api_key_create(user=tenant.viewer, name="mine")
        member_api_key_revoke(actor=tenant.actor(tenant.admin), key=mine)


def test_keys_of_someone_who_also_belongs_elsewhere_or_left_are_not_the_owners_to_end(
    owner_client, tenant, other_tenant
):
    # A personal key acts in every organization its person belongs to: the owner of one must not
    # see or end a key someone also uses for another, nor a former member's.
    membership_create(
        organization=other_tenant.organization, user=tenant.contributor, role=OrgRole.VIEWER
    )
    shared, _ = user_api_key_create(user=tenant.contributor, name="used in both")
    Membership.objects.filter(organization=tenant.organization, user=tenant.viewer).update(
        is_active=False
    )
    former, _ = user_api_key_create(user=tenant.viewer, name="former member's")

    page = owner_client.get(reverse("admin:workspaces_userapikey_changelist")).content.decode()

    assert "used in both" not in page and "former member" not in page
    for key in (shared, former):
        with pytest.raises(NotFound):
            member_api_key_revoke(actor=tenant.actor(tenant.owner), key=key)
        assert UserAPIKey.objects.get(pk=key.pk).revoked is False


def test_the_api_key_add_form_has_no_revoked_box(owner_client):
    page = owner_client.get(reverse("admin:workspaces_organizationapikey_add")).content.decode()
    assert 'name="name"' in page
    assert 'name="revoked"' not in page


def test_view_site_goes_to_the_member_pages(owner_client):
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("account:home")}">View site' in page


def test_demo_setup_prints_the_login_at_the_bind_address(db, settings):
    settings.WEB_BIND = "0.0.0.0:9123"
    settings.SITE_URL = ""
    out = StringIO()
    call_command("demo_setup", stdout=out)
    assert "Log in at http://127.0.0.1:9123/admin/ as owner@demo.example" in out.getvalue()
