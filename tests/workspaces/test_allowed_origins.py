"""An organization's allowed origins: where connect links may return the end user. Edited by the
owner, an admin or the customer's backend (an organization API key), through the organization API
and the admin; each entry is an origin, and a refusal names the entry."""

import pytest
from django.urls import reverse

from infrastructure.errors import RuleViolation
from workspaces.models import Organization, OrganizationAPIKey
from workspaces.origins import allowed_origins_clean, origin_allowed

pytestmark = pytest.mark.django_db


def org_url(tenant):
    return reverse("organization-detail", kwargs={"organization_slug": tenant.organization.slug})


def test_origins_are_normalized_as_browsers_compare_them():
    assert allowed_origins_clean(
        [
            "HTTPS://App.Example.com:443/",
            "https://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:5173",
            "https://app.example.com:8443",
        ]
    ) == [
        "https://app.example.com",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:5173",
        "https://app.example.com:8443",
    ]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://app.example.com", "use https"),
        ("https://app.example.com/connect", "path"),
        ("https://app.example.com?x=1", "query"),
        ("https://app.example.com#top", "fragment"),
        ("app.example.com", "https://"),
        ("ftp://app.example.com", "https://"),
        ("https://*.example.com", "no wildcards"),
        ("https://user:pw@app.example.com", "passwords"),
        ("https://app.example.com:99999", "port"),
        ("https://app example.com", "spaces"),
    ],
)
def test_anything_but_an_origin_is_refused_naming_the_entry(value, why):
    with pytest.raises(RuleViolation) as refused:
        allowed_origins_clean(["https://ok.example.com", value])
    assert refused.value.field == "allowed_origins[1]"
    assert why in refused.value.message


def test_a_url_is_allowed_when_its_origin_is_listed():
    allowed = ["https://app.example.com", "http://localhost:3000"]
    assert origin_allowed(allowed_origins=allowed, url="https://APP.example.com:443/done?x=1")
    assert origin_allowed(allowed_origins=allowed, url="http://localhost:3000/cb")
    assert not origin_allowed(allowed_origins=allowed, url="https://app.example.com.evil.test/")
    assert not origin_allowed(allowed_origins=allowed, url="http://app.example.com/")
    assert not origin_allowed(allowed_origins=allowed, url="https://app.example.com:8443/")
    assert not origin_allowed(allowed_origins=allowed, url="javascript:alert(1)")


def test_owner_admin_and_organization_key_set_allowed_origins(tenant, api):
    url = org_url(tenant)
    owner = api.as_user(tenant.owner).patch(
        url, {"allowed_origins": ["https://app.example.com/"]}, format="json"
    )
    assert owner.status_code == 200, owner.content
    assert owner.json()["allowed_origins"] == ["https://app.example.com"]

    admin = api.as_user(tenant.admin).patch(
        url, {"allowed_origins": ["https://two.example.com"]}, format="json"
    )
    assert admin.status_code == 200, admin.content

    api.logout()
    _, key = OrganizationAPIKey.objects.create_key(name="b", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    by_key = api.patch(url, {"allowed_origins": []}, format="json")
    assert by_key.status_code == 200, by_key.content
    assert Organization.objects.get(pk=tenant.organization.pk).allowed_origins == []


def test_contributors_and_viewers_cannot_and_admins_still_cannot_rename(tenant, api):
    url = org_url(tenant)
    for user in (tenant.contributor, tenant.viewer):
        refused = api.as_user(user).patch(
            url, {"allowed_origins": ["https://app.example.com"]}, format="json"
        )
        assert refused.status_code == 403
    renamed = api.as_user(tenant.admin).patch(
        url, {"name": "New", "allowed_origins": ["https://app.example.com"]}, format="json"
    )
    assert renamed.status_code == 403
    assert Organization.objects.get(pk=tenant.organization.pk).allowed_origins == []


def test_a_refused_entry_is_a_field_error_naming_it(tenant, api):
    response = api.as_user(tenant.owner).patch(
        org_url(tenant),
        {"allowed_origins": ["https://app.example.com", "https://app.example.com/path"]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["allowed_origins[1]"]
    not_a_list = api.as_user(tenant.owner).patch(
        org_url(tenant), {"allowed_origins": "https://app.example.com"}, format="json"
    )
    assert not_a_list.status_code == 400
    assert list(not_a_list.json()["error"]["fields"]) == ["allowed_origins"]


def test_owner_edits_allowed_origins_in_the_admin(client, tenant):
    client.force_login(tenant.owner)
    url = reverse("admin:workspaces_organization_change", args=[tenant.organization.pk])
    form = {"name": tenant.organization.name, "edition": tenant.organization.edition}

    refused = client.post(url, {**form, "allowed_origins": "https://a.example.com\nhttp://b.test"})
    assert refused.status_code == 200
    assert "allowed_origins[1]" in refused.content.decode()
    assert "use https" in refused.content.decode()

    saved = client.post(
        url, {**form, "allowed_origins": "https://a.example.com\n\nhttp://localhost:3000\n"}
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    organization = Organization.objects.get(pk=tenant.organization.pk)
    assert organization.allowed_origins == ["https://a.example.com", "http://localhost:3000"]
    assert "http://localhost:3000" in client.get(url).content.decode()
