"""Lifecycle dashboard in the admin: org owners see their own organization only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from events.recording import event_record
from lifecycle.early_expiry import service_early_expiry_evaluate
from tests.lifecycle.factories import make_auth, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_dashboard_shows_statuses_chart_flags_and_events(owner_client, tenant, other_tenant):
    now = timezone.now()
    test_service = make_service(name="Google (testing)", umbrella_status="test")
    make_auth(tenant, test_service, name="Drive", consented_at=now - timedelta(days=3))
    make_auth(tenant, name="Broken", status=AuthStatus.NEEDS_REAUTH)
    suspected = make_service(name="Suspicious CRM")
    for index in range(3):
        auth = make_auth(tenant, suspected, name=f"Dead {index}")
        Authentication.objects.filter(pk=auth.pk).update(consented_at=now - timedelta(days=7))
        event_record(
            authentication=auth, kind="expired_early", data={"age_seconds": 7 * 86400 + index}
        )
    service_early_expiry_evaluate(service=suspected)
    make_auth(other_tenant, name="Elsewhere")
    page = owner_client.get(reverse("admin:lifecycle_dashboard")).content.decode()
    assert "<svg" in page and "<rect" in page
    assert "Google (testing)" in page and "Suspicious CRM" in page
    assert "Dead 0" in page and "7 days" in page
    assert "publish" in page
    assert "Elsewhere" not in page
    assert "Needs re-authentication" in page


def test_contributor_cannot_open_the_dashboard(client, tenant):
    client.force_login(tenant.contributor)
    response = client.get(reverse("admin:lifecycle_dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_index_names_webhook_deliveries_in_plain_english(owner_client):
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Webhook deliveries" in page
    assert "deliverys" not in page
