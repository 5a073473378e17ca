"""Lifecycle admin: org owners see their own events, webhooks and dashboard only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.early_expiry import service_early_expiry_evaluate
from auths.events import event_record
from auths.models import Authentication, AuthStatus, Webhook
from tests.auths.lifecycle_factories import make_auth, make_service, make_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_owner_sees_only_their_events(owner_client, tenant, other_tenant):
    event_record(authentication=make_auth(tenant, name="Ours"), kind="created")
    event_record(authentication=make_auth(other_tenant, name="Theirs"), kind="created")
    page = owner_client.get(reverse("admin:auths_authevent_changelist")).content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert reverse("admin:auths_lifecycle_dashboard") in page


def test_webhook_secret_is_write_only_in_the_admin(owner_client, tenant):
    response = owner_client.post(
        reverse("admin:auths_webhook_add"),
        {
            "organization": tenant.organization.pk,
            "url": "https://hooks.example/admin",
            "signing_secret": "admin-secret-0123456789",
            "events": ["needs_reauth"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook = Webhook.objects.get(url="https://hooks.example/admin")
    assert webhook.signing_secret.reveal() == "admin-secret-0123456789"
    page = owner_client.get(reverse("admin:auths_webhook_change", args=[webhook.pk]))
    assert "admin-secret-0123456789" not in page.content.decode()


def test_other_organizations_webhook_is_invisible(owner_client, other_tenant):
    foreign = make_webhook(other_tenant)
    response = owner_client.get(reverse("admin:auths_webhook_change", args=[foreign.pk]))
    assert response.status_code in (302, 404)


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
    page = owner_client.get(reverse("admin:auths_lifecycle_dashboard")).content.decode()
    assert "<svg" in page and "<rect" in page
    assert "Google (testing)" in page and "Suspicious CRM" in page
    assert "Dead 0" in page and "7 days" in page
    assert "publish" in page
    assert "Elsewhere" not in page
    assert "Needs re-authentication" in page


def test_contributor_cannot_open_the_dashboard(client, tenant):
    client.force_login(tenant.contributor)
    response = client.get(reverse("admin:auths_lifecycle_dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_index_names_webhook_deliveries_in_plain_english(owner_client):
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Webhook deliveries" in page
    assert "deliverys" not in page
