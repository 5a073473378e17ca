"""End users in the admin: an org owner finds their own (by external id or name), reads the health
of their auths and their instance count, never a secret and never another organization's end
users, and deletes one through the domain function (auths revoked at the provider first)."""

import pytest
from django.urls import reverse

from auths.models import Authentication
from tests.conftest import build_tenant
from tests.embedded.builders import crm_service, end_user_auth, make_end_user
from tests.embedded.test_end_user_events import reject
from tests.embedded.test_end_users import instance_of
from tests.factories import UserFactory
from workspaces.models import Edition, EndUser

pytestmark = pytest.mark.django_db


def test_an_owner_reads_their_end_users_auth_health_and_instances_only(
    embedded_tenant, server, client
):
    service = crm_service(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant, "customer-42")
    healthy = end_user_auth(end_user, service, server, scopes=["read"])
    dying = end_user_auth(end_user, service, server, scopes=["read"])
    reject(dying)
    instance_of(embedded_tenant, service, end_user, healthy)
    make_end_user(embedded_tenant, "customer-7")
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    theirs = make_end_user(rival, "their-customer")

    client.force_login(embedded_tenant.owner)
    changelist = reverse("admin:workspaces_enduser_changelist")
    listing = client.get(changelist).content.decode()
    assert "customer-42" in listing and "customer-7" in listing
    assert "their-customer" not in listing
    assert "2: 1 active, 1 needs re-authentication" in listing
    searched = client.get(changelist, {"q": "customer-4"}).content.decode()
    assert "customer-42" in searched and "customer-7" not in searched

    page = client.get(reverse("admin:workspaces_enduser_change", args=[end_user.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert f"{dying.name} ({service.name}): Needs re-authentication" in html
    for auth in (healthy, dying):
        assert auth.access_token.reveal() not in html
        assert auth.refresh_token.reveal() not in html
    other = client.get(reverse("admin:workspaces_enduser_change", args=[theirs.pk]))
    assert other.status_code in (302, 404)


def test_an_owner_deletes_an_end_user_through_the_domain(embedded_tenant, server, client):
    service = crm_service(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant, "customer-42")
    auth = end_user_auth(end_user, service, server)
    url = reverse("admin:workspaces_enduser_delete", args=[end_user.pk])
    client.force_login(embedded_tenant.owner)

    confirmation = client.get(url).content.decode()
    assert "revoked at the provider first" in confirmation

    done = client.post(url, {"post": "yes"}, follow=True)

    assert done.status_code == 200
    assert "1 authentication(s) deleted (1 revoked at the provider)" in done.content.decode()
    assert not EndUser.objects.filter(pk=end_user.pk).exists()
    assert not Authentication.objects.filter(pk=auth.pk).exists()
    assert server.counters()["revoke_requests"] == 1


def test_a_superuser_who_is_not_a_member_is_refused_on_the_confirmation_page(
    embedded_tenant, client
):
    end_user = make_end_user(embedded_tenant)
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    url = reverse("admin:workspaces_enduser_delete", args=[end_user.pk])

    confirmed = client.post(url, {"post": "yes"}, follow=True)

    assert confirmed.status_code == 200
    assert "Organization not found" in confirmed.content.decode()
    assert EndUser.objects.filter(pk=end_user.pk).exists()
