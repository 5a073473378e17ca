"""Lean API reads (issue 12): a list of auths loads only the columns it renders and joins only the
rows they come from; the number of queries does not grow with the page; an API key and its user
are one query, a person's membership and its organization another. Counted, not timed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.connections.helpers import custom_service
from tests.lifecycle.factories import make_auth
from workspaces.models import UserAPIKey

pytestmark = pytest.mark.django_db


def auth_list(tenant):
    return reverse("authentication-list", kwargs={"organization_slug": tenant.organization.slug})


def page_query(queries) -> str:
    return next(q["sql"] for q in queries if q["sql"].startswith('SELECT "auths_authentication"'))


def selected(sql: str) -> list[str]:
    return sql.split(" FROM ")[0].removeprefix("SELECT ").split(", ")


def test_a_list_of_auths_reads_only_what_it_renders(tenant, api):
    auth = make_auth(tenant, service=custom_service(tenant), refresh_token="a-refresh-token")
    client = api.as_user(tenant.owner)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(auth_list(tenant)).json()
    [shown] = body["results"]
    assert shown["id"] == str(auth.pk) and shown["has_refresh_token"] is True
    assert shown["owner_email"] == tenant.contributor.email
    assert shown["service"]["name"] == auth.service.name
    columns = selected(page_query(queries))
    tables = {column.split(".")[0] for column in columns}
    assert tables == {
        '"auths_authentication"',
        '"services_service"',
        '"workspaces_membership"',
        '"workspaces_user"',
    }
    assert '"workspaces_user"."password"' not in columns
    assert '"auths_authentication"."access_token"' not in columns
    assert '"auths_authentication"."grant"' not in columns
    service_columns = [c for c in columns if c.startswith('"services_service"')]
    assert len(service_columns) == 7  # ServiceSummarySerializer's fields


def test_the_detail_reads_the_same_columns(tenant, api):
    auth = make_auth(tenant)
    url = reverse(
        "authentication-detail",
        kwargs={"organization_slug": tenant.organization.slug, "pk": auth.pk},
    )
    with CaptureQueriesContext(connection) as queries:
        response = api.as_user(tenant.owner).get(url)
    assert response.status_code == 200 and response.json()["id"] == str(auth.pk)
    assert '"auths_authentication"."access_token"' not in selected(page_query(queries))


def test_the_queries_of_a_list_do_not_grow_with_the_page(tenant, api):
    client = api.as_user(tenant.owner)
    make_auth(tenant)
    with CaptureQueriesContext(connection) as one:
        client.get(auth_list(tenant))
    for _ in range(6):
        make_auth(tenant, service=custom_service(tenant))
    with CaptureQueriesContext(connection) as seven:
        assert len(client.get(auth_list(tenant)).json()["results"]) == 7
    assert len(seven) == len(one)


def test_a_user_api_key_with_its_user_membership_and_organization_take_two_queries(tenant, api):
    _, key = UserAPIKey.objects.create_key(name="k", user=tenant.owner)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    make_auth(tenant)
    with CaptureQueriesContext(connection) as queries:
        assert api.get(auth_list(tenant)).status_code == 200
    statements = [q["sql"] for q in queries]
    key_query, actor_query = statements[:2]
    assert 'FROM "workspaces_userapikey" INNER JOIN "workspaces_user"' in key_query
    assert 'FROM "workspaces_membership" INNER JOIN "workspaces_organization"' in actor_query
    # Then the page (and its count); nothing else reads the key, the person or the organization.
    assert not [
        s
        for s in statements[2:]
        if s.startswith(('SELECT "workspaces_user"', 'SELECT "workspaces_organization"'))
    ]


def test_a_deactivated_users_key_is_still_refused(tenant, api):
    _, key = UserAPIKey.objects.create_key(name="k", user=tenant.viewer)
    tenant.viewer.is_active = False
    tenant.viewer.save()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.get(auth_list(tenant))
    assert response.status_code in (401, 403)
    assert "deactivated" in response.json()["error"]["message"]


def test_a_key_with_a_wrong_secret_is_refused(tenant, api):
    _, key = UserAPIKey.objects.create_key(name="k", user=tenant.owner)
    prefix, _, _ = key.partition(".")
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.not-the-secret")
    assert api.get(auth_list(tenant)).status_code in (401, 403)
