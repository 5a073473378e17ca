"""Events admin: org owners see their own events and webhooks only; the signing secret is
write-only."""

import pytest
from django.urls import reverse

from events.models import Webhook
from events.recording import event_record
from tests.lifecycle.factories import make_auth, make_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_owner_sees_only_their_events(owner_client, tenant, other_tenant):
    event_record(authentication=make_auth(tenant, name="Ours"), kind="created")
    event_record(authentication=make_auth(other_tenant, name="Theirs"), kind="created")
    page = owner_client.get(reverse("admin:events_authevent_changelist")).content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert reverse("admin:lifecycle_dashboard") in page


def test_webhook_secret_is_write_only_in_the_admin(owner_client, tenant):
    response = owner_client.post(
        reverse("admin:events_webhook_add"),
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
    page = owner_client.get(reverse("admin:events_webhook_change", args=[webhook.pk]))
    assert "admin-secret-0123456789" not in page.content.decode()


def test_other_organizations_webhook_is_invisible(owner_client, other_tenant):
    foreign = make_webhook(other_tenant)
    response = owner_client.get(reverse("admin:events_webhook_change", args=[foreign.pk]))
    assert response.status_code in (302, 404)
