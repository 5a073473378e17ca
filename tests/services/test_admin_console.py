"""The services admin as a console: transfer ownership (the same domain function as the API), a
service's auths by status on its page, filters that never show another organization's people."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from auths.models import AuthStatus
from services.models import Service
from tests.lifecycle.factories import make_auth
from tests.services.builders import make_custom_service

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:services_service_changelist"


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def transfer(client, services, **extra):
    data = {"action": "transfer_ownership", ACTION_CHECKBOX_NAME: [str(s.pk) for s in services]}
    return client.post(reverse(CHANGELIST), {**data, **extra})


def test_transfer_asks_for_the_new_owner_then_transfers(owner_client, tenant):
    service = make_custom_service(tenant, name="Our CRM")
    page = transfer(owner_client, [service]).content.decode()
    assert "Transfer ownership" in page and "Our CRM" in page
    assert tenant.admin.email in page
    admin_membership = tenant.membership(tenant.admin)
    response = transfer(owner_client, [service], apply="1", new_owner=str(admin_membership.pk))
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.owner == tenant.admin
    assert "now owned by" in owner_client.get(response.url).content.decode()


def test_transfer_to_a_viewer_is_refused_with_the_reason(owner_client, tenant):
    service = make_custom_service(tenant, name="Our CRM")
    response = transfer(
        owner_client, [service], apply="1", new_owner=str(tenant.membership(tenant.viewer).pk)
    )
    page = owner_client.get(response.url).content.decode()
    assert "is a viewer and cannot own a custom service" in page
    service.refresh_from_db()
    assert service.owner == tenant.contributor


def test_transfer_offers_only_members_of_the_services_organization(
    owner_client, tenant, other_tenant
):
    service = make_custom_service(tenant, name="Our CRM")
    page = transfer(owner_client, [service]).content.decode()
    assert other_tenant.owner.email not in page and other_tenant.contributor.email not in page


def test_transfer_cannot_reach_another_organizations_service(owner_client, other_tenant):
    theirs = make_custom_service(other_tenant, name="Theirs")
    before = theirs.owner_id
    transfer(
        owner_client,
        [theirs],
        apply="1",
        new_owner=str(other_tenant.membership(other_tenant.admin).pk),
    )
    assert Service.objects.get(pk=theirs.pk).owner_id == before


def test_service_page_shows_its_auths_by_status_with_links(owner_client, tenant, other_tenant):
    service = make_custom_service(tenant, name="Our CRM")
    make_auth(tenant, service, name="One", status=AuthStatus.NEEDS_REAUTH)
    make_auth(tenant, service, name="Two")
    page = owner_client.get(
        reverse("admin:services_service_change", args=[service.pk])
    ).content.decode()
    assert "Authentications, by status" in page
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page)]
    assert (
        f"{reverse('admin:auths_authentication_changelist')}?service={service.pk}"
        "&status__exact=needs_reauth"
    ) in hrefs


def test_owner_filter_lists_only_people_of_the_owners_organization(
    owner_client, tenant, other_tenant
):
    make_custom_service(tenant, name="Ours")
    make_custom_service(other_tenant, name="Theirs")
    page = owner_client.get(reverse(CHANGELIST)).content.decode()
    assert tenant.contributor.email in page
    assert other_tenant.contributor.email not in page
