"""Events dispatch email and signed webhooks, through Celery tasks with a delivery log; the
lifecycle announces an episode once, not once per attempt."""

import unicodedata

import pytest
from django.core import mail
from django.utils import timezone

from auths.models import Authentication
from auths.tokens import RefreshRejected
from events.models import DeliveryStatus, EmailDelivery, WebhookDelivery
from events.notifications import email_delivery_attempt
from events.recording import event_record
from events.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    deliveries_create,
    webhook_delivery_attempt,
    webhook_signature,
    webhook_signature_valid,
)
from lifecycle import state
from tests.events.helpers import deliver_pending_emails
from tests.events.webhook_receiver import WebhookReceiver
from tests.lifecycle.factories import make_auth, make_webhook

pytestmark = pytest.mark.django_db


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    signature = webhook_signature(secret="s" * 16, timestamp=1700000000, body=b'{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert webhook_signature_valid(
        secret="s" * 16, timestamp=1700000000, body=b'{"a":1}', signature=signature
    )
    assert not webhook_signature_valid(
        secret="s" * 16, timestamp=1700000001, body=b'{"a":1}', signature=signature
    )


REFUSED = RefreshRejected("invalid_grant", "Token has been expired or revoked.")


def reject(auth):
    """The provider refuses the auth's refresh (lifecycle/refresh.py's rejection path)."""
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
    state.refresh_rejected(authentication=auth, error=REFUSED, now=timezone.now())
    return auth


def reauthorize(auth):
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
    state.connection_recorded(
        authentication=auth, token_response=None, reauthorized=True, message="Re-authenticated."
    )


def test_needs_reauth_is_emailed_once_per_episode(tenant, django_capture_on_commit_callbacks):
    auth = make_auth(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        reject(auth)
    assert deliver_pending_emails() == ["delivered"]
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {tenant.owner.email, tenant.contributor.email}
    # Re-authorizing closes the episode: the next refusal is news again.
    with django_capture_on_commit_callbacks(execute=True):
        reauthorize(auth)
        reject(auth)
    assert deliver_pending_emails() == ["delivered"]
    assert len(mail.outbox) == 2


def test_routine_events_send_no_email(tenant, django_capture_on_commit_callbacks):
    auth = make_auth(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        event_record(authentication=auth, kind="refreshed")
        event_record(authentication=auth, kind="created")
    assert not EmailDelivery.objects.exists()
    assert mail.outbox == []


def test_an_email_delivery_is_retried_and_logged(tenant, settings, monkeypatch):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    auth = make_auth(tenant)
    event = event_record(authentication=auth, kind="needs_reauth", message="refused")
    delivery = EmailDelivery.objects.get(event=event)

    def outage(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("events.notifications.send_mail", outage)
    assert email_delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "connection refused" in delivery.last_error
    monkeypatch.undo()
    assert email_delivery_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert delivery.recipients == sorted({tenant.owner.email, tenant.contributor.email})
    assert email_delivery_attempt(delivery_id=delivery.pk) == "skipped"


def test_a_name_with_a_line_break_still_makes_a_valid_subject(tenant):
    auth = make_auth(tenant, name="Line one\nBcc: someone@evil.example")
    event = event_record(authentication=auth, kind="needs_reauth", message="refused")
    assert email_delivery_attempt(delivery_id=EmailDelivery.objects.get(event=event).pk) == (
        "delivered"
    )
    assert "\n" not in mail.outbox[-1].subject and mail.outbox[-1].bcc == []


def test_a_subject_holds_no_control_character_whatever_the_names_hold(tenant):
    tenant.organization.name = "Acme\x1b]0;owned\x07"  # rows written before names were checked
    tenant.organization.save()
    auth = make_auth(tenant, name="CRM\r\n\x1b[2J\x08\u2028end")
    event = event_record(authentication=auth, kind="needs_reauth", message="refused")
    assert email_delivery_attempt(delivery_id=EmailDelivery.objects.get(event=event).pk) == (
        "delivered"
    )
    subject = mail.outbox[-1].subject
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in subject)
    assert subject == "[Acme ]0;owned ] CRM [2J end: Needs re-authentication"


def test_webhooks_get_matching_events_once_per_episode(tenant, other_tenant):
    everything = make_webhook(tenant)
    only_reauth = make_webhook(tenant, events=["needs_reauth"])
    make_webhook(tenant, is_active=False)
    theirs = make_webhook(other_tenant)
    auth = Authentication.objects.select_related("service", "organization").get(
        pk=make_auth(tenant).pk
    )
    for _ in range(2):  # the same episode twice: one delivery
        state.refresh_failed(
            authentication=auth, description="HTTP 503", retry_after=None, now=timezone.now()
        )
    event_record(authentication=auth, kind="refreshed")  # routine: not by default
    reject(auth)
    failed = auth.events.filter(kind="refresh_failed").earliest("created_at")
    refused = auth.events.get(kind="needs_reauth")
    deliveries = set(WebhookDelivery.objects.values_list("webhook_id", "event_id"))
    assert deliveries == {
        (everything.pk, failed.pk),
        (everything.pk, refused.pk),
        (only_reauth.pk, refused.pk),
    }
    assert not WebhookDelivery.objects.filter(webhook=theirs).exists()
    assert deliveries_create(event=refused) == list(
        WebhookDelivery.objects.filter(event=refused)
        .order_by("webhook_id")
        .values_list("pk", flat=True)
    )


def test_delivery_is_signed_and_retried_until_delivered(tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    with WebhookReceiver(fail_first=1) as receiver:
        webhook = make_webhook(tenant, url=receiver.url, events=["needs_reauth"])
        auth = make_auth(tenant)
        event = event_record(authentication=auth, kind="needs_reauth", message="refused")
        delivery = WebhookDelivery.objects.get(webhook=webhook, event=event)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            DeliveryStatus.PENDING,
            1,
            503,
        )
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "delivered"
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    last = receiver.requests[-1]
    timestamp = int(last["headers"][TIMESTAMP_HEADER])
    assert webhook_signature_valid(
        secret="whsec-0123456789abcdef",
        timestamp=timestamp,
        body=last["body"],
        signature=last["headers"][SIGNATURE_HEADER],
    )
    payload = receiver.payloads()[-1]
    assert payload["type"] == "auth.needs_reauth"
    assert payload["authentication"]["id"] == str(auth.pk)
    assert "token" not in str(payload).replace("refresh_token_expires_at", "")


def test_delivery_gives_up_after_max_attempts(tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    with WebhookReceiver(fail_first=10) as receiver:
        make_webhook(tenant, url=receiver.url)
        event = event_record(authentication=make_auth(tenant), kind="expiring")
        delivery = WebhookDelivery.objects.get(event=event)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "HTTP 503"


def test_delivery_to_a_private_address_is_refused_by_egress(tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    make_webhook(tenant, url="https://127.0.0.1:9/hook")
    event = event_record(authentication=make_auth(tenant), kind="expiring")
    delivery = WebhookDelivery.objects.get(event=event)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "127.0.0.1 is not a public host" in delivery.last_error
