"""Lean service reads (issue 12): the picker loads only the columns it renders and its queries do
not grow with the page (warnings and can_manage read nothing lazily). Counted, not timed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.connections.helpers import custom_service

pytestmark = pytest.mark.django_db


def picker(tenant):
    return reverse("service-list", kwargs={"organization_slug": tenant.organization.slug})


def test_the_picker_reads_only_what_it_renders(tenant, api):
    custom_service(tenant)
    client = api.as_user(tenant.contributor)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(picker(tenant), {"source": "custom"}).json()
    [shown] = body["results"]
    assert [w["code"] for w in shown["warnings"]] == ["owned_by_personal_account"]
    page = next(q["sql"] for q in queries if q["sql"].startswith('SELECT "services_service"'))
    columns = page.split(" FROM ")[0].split(", ")
    for unread in ("client_secret", "token_url", "authorize_params", "suspected_evidence"):
        assert f'"services_service"."{unread}"' not in columns
    assert '"workspaces_user"."password"' not in columns


def test_the_pickers_queries_do_not_grow_with_the_page(tenant, api):
    client = api.as_user(tenant.contributor)
    custom_service(tenant)
    with CaptureQueriesContext(connection) as one:
        client.get(picker(tenant), {"source": "custom"})
    for _ in range(5):
        custom_service(tenant, user=tenant.admin)
    with CaptureQueriesContext(connection) as six:
        assert len(client.get(picker(tenant), {"source": "custom"}).json()["results"]) == 6
    assert len(six) == len(one)
