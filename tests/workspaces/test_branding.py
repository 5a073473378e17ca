"""The branding of the end-user pages: brand name, logo URL and accent colour, checked by
workspaces/branding.py and set through the organization's PATCH and the admin."""

import pytest
from django.urls import reverse

from infrastructure.errors import RuleViolation
from workspaces.branding import accent_colour_clean, contrast_ratio, logo_url_clean
from workspaces.models import Organization, OrganizationAPIKey

pytestmark = pytest.mark.django_db


def org_url(tenant):
    return reverse("organization-detail", kwargs={"organization_slug": tenant.organization.slug})


def test_contrast_is_the_wcag_ratio():
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast_ratio("#ffffff", "#ffffff"), 2) == 1.0
    # The platform's own link colour, under white text.
    assert contrast_ratio("#0b57d0", "#ffffff") > 4.5


@pytest.mark.parametrize("colour", ["#0B57D0", "#1b2a41", "#a11b12", "#000000"])
def test_a_dark_enough_accent_is_kept_in_lower_case(colour):
    assert accent_colour_clean(colour) == colour.lower()


def test_a_light_accent_is_refused_with_its_contrast_and_a_darker_one_that_would_do():
    with pytest.raises(RuleViolation) as refused:
        accent_colour_clean("#ffcc00")
    message = refused.value.message
    assert refused.value.field == "wizard_accent_colour"
    assert "contrast of 1.51:1" in message and "at least 4.5:1" in message
    suggested = message.rsplit("e.g. ", 1)[1].rstrip(".")
    assert accent_colour_clean(suggested) == suggested


@pytest.mark.parametrize("value", ["blue", "#fff", "#12345g", "rgb(0,0,0)", "#0b57d0;x"])
def test_an_accent_that_is_not_rrggbb_is_refused(value):
    with pytest.raises(RuleViolation) as refused:
        accent_colour_clean(value)
    assert "#rrggbb" in refused.value.message


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://cdn.example.com/logo.png", "use https"),
        ("javascript:alert(1)", "https://"),
        ("https://user:pw@cdn.example.com/logo.png", "user names and passwords"),
        ("/static/logo.png", "https://"),
    ],
)
def test_a_logo_url_must_be_https(value, why):
    with pytest.raises(RuleViolation) as refused:
        logo_url_clean(value)
    assert why in refused.value.message
    assert refused.value.field == "wizard_logo_url"


def test_owner_admin_and_organization_key_brand_the_wizard(tenant, api):
    url = org_url(tenant)
    owner = api.as_user(tenant.owner).patch(
        url,
        {
            "wizard_brand_name": "Acme CRM",
            "wizard_logo_url": "https://cdn.example.com/logo.png",
            "wizard_accent_colour": "#0B57D0",
        },
        format="json",
    )
    assert owner.status_code == 200, owner.content
    body = owner.json()
    assert body["wizard_brand_name"] == "Acme CRM"
    assert body["wizard_logo_url"] == "https://cdn.example.com/logo.png"
    assert body["wizard_accent_colour"] == "#0b57d0"

    admin = api.as_user(tenant.admin).patch(url, {"wizard_logo_url": ""}, format="json")
    assert admin.status_code == 200, admin.content
    assert admin.json()["wizard_logo_url"] == ""
    assert admin.json()["wizard_brand_name"] == "Acme CRM"  # untouched

    api.logout()
    _, key = OrganizationAPIKey.objects.create_key(name="b", organization=tenant.organization)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    by_key = api.patch(url, {"wizard_accent_colour": "#1b2a41"}, format="json")
    assert by_key.status_code == 200, by_key.content
    assert Organization.objects.get(pk=tenant.organization.pk).wizard_accent_colour == "#1b2a41"


def test_contributors_cannot_brand_the_wizard_and_a_low_contrast_is_a_field_error(tenant, api):
    url = org_url(tenant)
    refused = api.as_user(tenant.contributor).patch(
        url, {"wizard_brand_name": "Mine"}, format="json"
    )
    assert refused.status_code == 403
    low = api.as_user(tenant.owner).patch(url, {"wizard_accent_colour": "#ffcc00"}, format="json")
    assert low.status_code == 400
    assert list(low.json()["error"]["fields"]) == ["wizard_accent_colour"]
    two_lines = api.as_user(tenant.owner).patch(
        url, {"wizard_brand_name": "Acme\nCRM"}, format="json"
    )
    assert two_lines.status_code == 400
    assert list(two_lines.json()["error"]["fields"]) == ["wizard_brand_name"]
    assert Organization.objects.get(pk=tenant.organization.pk).wizard_brand_name == ""


def test_owner_brands_the_wizard_in_the_admin(client, tenant):
    client.force_login(tenant.owner)
    url = reverse("admin:workspaces_organization_change", args=[tenant.organization.pk])
    form = {"name": tenant.organization.name, "edition": tenant.organization.edition}

    refused = client.post(url, {**form, "wizard_accent_colour": "#eeeeee"})
    assert refused.status_code == 200
    assert "needs at least 4.5:1" in refused.content.decode()

    saved = client.post(
        url,
        {**form, "wizard_brand_name": "Acme CRM", "wizard_accent_colour": "#1b2a41"},
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    organization = Organization.objects.get(pk=tenant.organization.pk)
    assert (organization.wizard_brand_name, organization.wizard_accent_colour) == (
        "Acme CRM",
        "#1b2a41",
    )
