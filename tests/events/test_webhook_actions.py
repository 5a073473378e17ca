"""Webhook actions in the admin: send a test event now, redeliver a delivery; an owner acts on
their own organization's webhooks only."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from events.models import DeliveryStatus, WebhookDelivery
from events.recording import event_record
from events.webhook_actions import webhook_delivery_redeliver
from events.webhooks import SIGNATURE_HEADER, webhook_signature_valid, webhook_test_send
from infrastructure.errors import NotFound
from tests.events.helpers import InlineBroker
from tests.events.webhook_receiver import WebhookReceiver
from tests.lifecycle.factories import make_auth, make_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


@pytest.fixture
def receiver(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    with WebhookReceiver() as running:
        yield running


def action(client, url, name, ids):
    return client.post(url, {"action": name, ACTION_CHECKBOX_NAME: [str(i) for i in ids]})


def test_send_test_posts_a_signed_test_event_and_says_it_was_delivered(
    owner_client, tenant, receiver
):
    webhook = make_webhook(tenant, url=receiver.url)
    response = action(
        owner_client, reverse("admin:events_webhook_changelist"), "send_test", [webhook.pk]
    )
    assert response.status_code == 302
    page = owner_client.get(response.url).content.decode()
    assert "test event delivered (HTTP 204)" in page
    (sent,) = receiver.requests
    body = json.loads(sent["body"])
    assert body["type"] == "webhook.test"
    assert body["organization"]["id"] == str(tenant.organization.pk)
    assert webhook_signature_valid(
        secret="whsec-0123456789abcdef",
        timestamp=int(sent["headers"]["X-Platform-Timestamp"]),
        body=sent["body"],
        signature=sent["headers"][SIGNATURE_HEADER],
    )


def test_send_test_reports_a_failing_receiver(owner_client, tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    with WebhookReceiver(fail_first=1) as failing:
        webhook = make_webhook(tenant, url=failing.url)
        response = action(
            owner_client, reverse("admin:events_webhook_changelist"), "send_test", [webhook.pk]
        )
    page = owner_client.get(response.url).content.decode()
    assert "test event not delivered: HTTP 503" in page


def test_send_test_is_refused_for_another_organizations_webhook(tenant, other_tenant):
    foreign = make_webhook(other_tenant)
    with pytest.raises(NotFound):
        webhook_test_send(actor=tenant.actor(tenant.owner), webhook=foreign)


def test_the_admin_action_cannot_reach_another_organizations_webhook(
    owner_client, other_tenant, receiver
):
    foreign = make_webhook(other_tenant, url=receiver.url)
    action(owner_client, reverse("admin:events_webhook_changelist"), "send_test", [foreign.pk])
    assert receiver.requests == []


def test_redeliver_sends_a_failed_delivery_again(
    owner_client, tenant, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    webhook = make_webhook(tenant, url=receiver.url)
    event = event_record(authentication=make_auth(tenant), kind="needs_reauth", announce=False)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=event,
        status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="HTTP 503",
    )
    InlineBroker(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        response = action(
            owner_client,
            reverse("admin:events_webhookdelivery_changelist"),
            "redeliver",
            [delivery.pk],
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert json.loads(receiver.requests[0]["body"])["id"] == str(event.pk)


def test_redeliver_is_refused_for_another_organizations_delivery(tenant, other_tenant):
    webhook = make_webhook(other_tenant)
    event = event_record(authentication=make_auth(other_tenant), kind="created", announce=False)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=event, status=DeliveryStatus.FAILED
    )
    with pytest.raises(NotFound):
        webhook_delivery_redeliver(actor=tenant.actor(tenant.owner), delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_delivery_list_shows_status_badges_and_the_error_cut_to_one_line(owner_client, tenant):
    webhook = make_webhook(tenant)
    event = event_record(authentication=make_auth(tenant), kind="created", announce=False)
    long_error = "ConnectionError: " + "x" * 300
    WebhookDelivery.objects.create(
        webhook=webhook, event=event, status=DeliveryStatus.FAILED, last_error=long_error
    )
    page = owner_client.get(reverse("admin:events_webhookdelivery_changelist")).content.decode()
    assert 'class="badge badge--bad"' in page and "Failed" in page
    assert f'title="{long_error}"' in page
