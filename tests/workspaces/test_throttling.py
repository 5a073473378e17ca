"""API throttling: every caller has a budget of requests (API_THROTTLE_USER_RATE for a person,
by session or user key, and for each organization key; API_THROTTLE_ANON_RATE per address for
anonymous callers). Past it the API answers 429 in its one error shape, with Retry-After. The
test settings use high rates so that the rest of the suite never meets them; these tests set low
ones."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from workspaces.models import OrganizationAPIKey, UserAPIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }
    cache.clear()
    yield
    cache.clear()


def organizations(client, **headers):
    return client.get(reverse("organization-list"), **headers)


def assert_throttled(response):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "throttled" in error["message"].lower() and "seconds" in error["message"]
    assert int(response["Retry-After"]) > 0


def test_a_signed_in_person_is_throttled_past_the_rate(api, tenant, low_rates):
    client = api.as_user(tenant.viewer)
    for _ in range(3):
        assert organizations(client).status_code == 200
    assert_throttled(organizations(client))
    # Another person has a budget of their own.
    assert organizations(api.as_user(tenant.admin)).status_code == 200


def test_a_user_key_shares_its_person_budget(api, tenant, low_rates):
    _, key = UserAPIKey.objects.create_key(name="script", user=tenant.viewer)
    for _ in range(3):
        assert organizations(api, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    assert_throttled(organizations(api.as_user(tenant.viewer)))


def test_an_organization_key_is_throttled_on_its_own_budget(api, tenant, low_rates):
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=tenant.organization)
    _, other = OrganizationAPIKey.objects.create_key(name="other", organization=tenant.organization)
    detail = reverse("organization-detail", kwargs={"organization_slug": tenant.organization.slug})
    for _ in range(3):
        assert api.get(detail, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    assert_throttled(api.get(detail, HTTP_AUTHORIZATION=f"Api-Key {key}"))
    assert api.get(detail, HTTP_AUTHORIZATION=f"Api-Key {other}").status_code == 200


def test_anonymous_callers_are_throttled_per_address(client, low_rates):
    schema = reverse("schema") + "?format=json"
    for _ in range(2):
        assert client.get(schema, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert_throttled(client.get(schema, REMOTE_ADDR="203.0.113.7"))
    # X-Forwarded-For is not trusted unless API_NUM_PROXIES says a proxy sets it.
    spoofed = client.get(schema, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert spoofed.status_code == 429
    assert client.get(schema, REMOTE_ADDR="198.51.100.9").status_code == 200
