"""A connector is shared by every tenant: its suspected-test-status evidence shows each
organization its own auths only, and the rest as a count (issue 11, item 3)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication
from lifecycle.early_expiry import service_flag_clear_if_outlived
from services.models import Service
from tests.lifecycle.factories import make_auth, make_service
from tests.lifecycle.test_early_expiry import die

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def catalog_entry(api, user, organization, service):
    response = api.as_user(user).get(
        reverse(
            "service-catalog-detail",
            kwargs={"organization_slug": organization.slug, "connector_slug": service.slug},
        )
    )
    assert response.status_code == 200, response.content
    return response


def test_another_organization_sees_a_count_and_no_identifiers(tenant, other_tenant, api):
    service = make_service()
    dead = [
        die(make_auth(tenant, service, name=f"CRM ({tenant.owner.email}) {n}"), age=7 * DAY)
        for n in range(3)
    ]
    make_auth(other_tenant, service)

    theirs = catalog_entry(api, other_tenant.owner, other_tenant.organization, service)

    evidence = theirs.json()["suspected_evidence"]
    assert theirs.json()["suspected_test_status"] is True
    assert evidence["auths"] == []
    assert evidence["deaths_total"] == 3
    assert evidence["suspected_lifetime"]
    body = theirs.content.decode()
    for auth in dead:
        assert str(auth.pk) not in body
    assert tenant.owner.email not in body
    assert str(tenant.organization.pk) not in body

    ours = catalog_entry(api, tenant.owner, tenant.organization, service).json()
    assert sorted(a["authentication_id"] for a in ours["suspected_evidence"]["auths"]) == sorted(
        str(a.pk) for a in dead
    )


def test_the_auth_that_cleared_the_flag_is_named_to_its_own_organization_only(
    tenant, other_tenant, api
):
    service = make_service()
    for _ in range(3):
        die(make_auth(tenant, service), age=7 * DAY)
    Service.objects.filter(pk=service.pk).update(suspected_at=timezone.now() - 30 * DAY)
    survivor = make_auth(other_tenant, service)
    Authentication.objects.filter(pk=survivor.pk).update(consented_at=timezone.now() - 20 * DAY)
    survivor = Authentication.objects.select_related("service").get(pk=survivor.pk)
    assert service_flag_clear_if_outlived(authentication=survivor)

    ours = catalog_entry(api, tenant.owner, tenant.organization, service)
    assert str(survivor.pk) not in ours.content.decode()
    assert "age_seconds" in ours.json()["suspected_evidence"]["cleared_by"]
    theirs = catalog_entry(api, other_tenant.owner, other_tenant.organization, service).json()
    assert theirs["suspected_evidence"]["cleared_by"]["authentication_id"] == str(survivor.pk)
