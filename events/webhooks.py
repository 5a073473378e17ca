"""Organization webhooks for auth events: managed by owners and admins, signed, delivered by Celery
with retries (events/tasks.py), every attempt logged on its WebhookDelivery row.

Signature: `X-Platform-Signature: sha256=<hex>` where hex is HMAC-SHA256 with the webhook's signing
secret over `<timestamp>.<body>`, and `X-Platform-Timestamp: <unix seconds>`. Receivers recompute
it and refuse timestamps older than a few minutes (replay). `X-Platform-Event` names the event id:
a retried delivery carries the same id, so receivers can de-duplicate.
"""

import hashlib
import hmac
import json
import logging
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils import timezone

from events.models import AuthEvent, DeliveryStatus, EventKind, Webhook, WebhookDelivery
from events.retries import delivery_max_attempts
from infrastructure.egress import EgressPolicy, EgressRefused, http_session
from infrastructure.errors import NotFound, RuleViolation
from workspaces.access import Actor, require_owner_or_admin

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Platform-Signature"
TIMESTAMP_HEADER = "X-Platform-Timestamp"
EVENT_HEADER = "X-Platform-Event"
MIN_SECRET_LENGTH = 16
WEBHOOK_TIMEOUT = (5.0, 10.0)  # connect, read; the whole call: NOTIFICATION_DEADLINE_SECONDS
# A webhook with no event list gets every kind but routine refreshes (one per auth per hour).
DEFAULT_EXCLUDED_KINDS = {EventKind.REFRESHED}


# --- signing -----------------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_signature_valid(*, secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, signature)


# --- management (API and admin call these) -----------------------------------------------------


def _validate(*, actor: Actor, url: str | None, events: list | None, secret: str | None):
    if url is not None:
        try:
            EgressPolicy.for_organization(actor.organization).check_url(url)
        except EgressRefused as error:
            raise RuleViolation(f"{error} Give an https URL.", field="url") from None
    if events is not None:
        known = set(EventKind.values)
        unknown = [e for e in events if e not in known]
        if unknown:
            raise RuleViolation(
                f"Unknown event kinds {unknown}; choose from {sorted(known)} or leave empty "
                "for all.",
                field="events",
            )
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise RuleViolation(
            f"The signing secret must be at least {MIN_SECRET_LENGTH} characters; use a random "
            "string.",
            field="signing_secret",
        )


def webhook_create(
    *, actor: Actor, url: str, signing_secret: str, events: list | None = None, is_active=True
) -> Webhook:
    require_owner_or_admin(actor, "manage webhooks")
    _validate(actor=actor, url=url, events=events or [], secret=signing_secret or "")
    webhook = Webhook(
        organization=actor.organization, url=url, events=events or [], is_active=is_active
    )
    webhook.signing_secret = signing_secret
    webhook.save()
    return webhook


def webhook_update(
    *,
    actor: Actor,
    webhook: Webhook,
    url: str | None = None,
    signing_secret: str | None = None,
    events: list | None = None,
    is_active: bool | None = None,
) -> Webhook:
    require_owner_or_admin(actor, "manage webhooks")
    if webhook.organization_id != actor.organization.pk:
        raise NotFound("Webhook not found.")
    _validate(actor=actor, url=url, events=events, secret=signing_secret)
    if url is not None:
        webhook.url = url
    if events is not None:
        webhook.events = events
    if is_active is not None:
        webhook.is_active = is_active
    if signing_secret:
        webhook.signing_secret = signing_secret
    webhook.save()
    return webhook


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    require_owner_or_admin(actor, "manage webhooks")
    if webhook.organization_id != actor.organization.pk:
        raise NotFound("Webhook not found.")
    webhook.delete()


# --- delivery ------------------------------------------------------------------------------------


def webhook_wants(webhook: Webhook, kind: str) -> bool:
    if webhook.events:
        return kind in webhook.events
    return kind not in DEFAULT_EXCLUDED_KINDS


# Within `webhooks_cached()`: organization id -> whether it had an active webhook when first asked.
_CACHE: ContextVar[dict | None] = ContextVar("webhooks_cache", default=None)


@contextmanager
def webhooks_cached():
    """Remember, for the duration of the block, which organizations have no active webhook, instead
    of asking once per event: a batch of refreshes records one event each, and most organizations
    have no webhook. Only the absence is remembered: an organization that has webhooks gets them
    read again for every event, inside the event's transaction, so a webhook deleted meanwhile is
    never given a delivery (its foreign key would fail the commit that saves fresh tokens). For
    work that lasts seconds (lifecycle/batches.py): a webhook added meanwhile gets the events
    recorded after the block. Per thread: each thread opens its own block."""
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def _active_webhooks(organization_id) -> list[Webhook]:
    cache = _CACHE.get()
    if cache is not None and cache.get(organization_id) is False:
        return []
    webhooks = list(Webhook.objects.filter(organization_id=organization_id, is_active=True))
    if cache is not None:
        cache[organization_id] = bool(webhooks)
    return webhooks


def deliveries_create(*, event: AuthEvent) -> list[int]:
    """One pending delivery per active webhook of the organization that wants this kind of event;
    events/recording.py hands them to Celery once the event's transaction commits."""
    ids = []
    for webhook in _active_webhooks(event.organization_id):
        if not webhook_wants(webhook, event.kind):
            continue
        delivery, _ = WebhookDelivery.objects.get_or_create(webhook=webhook, event=event)
        ids.append(delivery.pk)
    return ids


def event_payload(event: AuthEvent) -> dict:
    authentication = None
    if event.authentication_ref:
        auth = event.authentication
        authentication = {
            "id": str(event.authentication_ref),
            "name": event.authentication_name,
            "status": auth.status if auth else "deleted",
            "status_reason": auth.status_reason if auth else "",
            "refresh_token_expires_at": (
                auth.refresh_token_expires_at.isoformat()
                if auth and auth.refresh_token_expires_at
                else None
            ),
        }
    payload = {
        "id": str(event.pk),
        "type": f"auth.{event.kind}",
        "created_at": event.created_at.isoformat(),
        "organization": {"id": str(event.organization_id), "slug": event.organization.slug},
        "service": (
            {"id": str(event.service_id), "name": event.service.name} if event.service else None
        ),
        "authentication": authentication,
        "message": event.message,
        "data": event.data,
    }
    # An end user's auth: end_user, instance_ids, reauthentication (recorded with the event; see
    # events/recording.py). A member's auth has no context: its payload is as it always was.
    for key, value in (event.context or {}).items():
        payload.setdefault(key, value)
    return payload


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt. Returns 'delivered', 'retry', 'failed' or 'skipped'."""
    delivery = (
        WebhookDelivery.objects.select_related(
            "webhook__organization",
            "event__organization",
            "event__service",
            "event__authentication",
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    webhook = delivery.webhook
    if not webhook.is_active or webhook.signing_secret is None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error="Webhook inactive or without a secret."
        )
        return "failed"
    body = json.dumps(event_payload(delivery.event), separators=(",", ":")).encode()
    attempts = delivery.attempts + 1
    status_code, error = webhook_post(webhook=webhook, body=body, event_id=str(delivery.event_id))
    if not error:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED,
            attempts=attempts,
            response_status=status_code,
            last_error="",
            delivered_at=timezone.now(),
        )
        return "delivered"
    final = attempts >= delivery_max_attempts()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
        attempts=attempts,
        response_status=status_code,
        last_error=error,
    )
    logger.info("webhook delivery %s attempt %s failed: %s", delivery.pk, attempts, error)
    return "failed" if final else "retry"


def webhook_post(*, webhook: Webhook, body: bytes, event_id: str) -> tuple[int | None, str]:
    """One signed POST of `body` to the webhook, through the egress guard. Returns the HTTP status
    (None when there was no answer) and an error text, empty on a 2xx answer."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "connect-platform-webhooks/1",
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: event_id,
        SIGNATURE_HEADER: webhook_signature(
            secret=webhook.signing_secret.reveal(), timestamp=timestamp, body=body
        ),
    }
    status_code = None
    try:
        session = http_session(
            policy=EgressPolicy.for_organization(webhook.organization),
            timeout=WEBHOOK_TIMEOUT,
            total=settings.NOTIFICATION_DEADLINE_SECONDS,
            max_bytes=64 * 1024,
        )
        response = session.post(webhook.url, data=body, headers=headers)
        status_code = response.status_code
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    except requests.RequestException as exc:  # network errors, refusals: logged, then retried
        error = f"{type(exc).__name__}: {exc}"[:500]
    return status_code, error


@dataclass(frozen=True)
class WebhookTestResult:
    ok: bool
    status_code: int | None
    error: str


def webhook_test_send(*, actor: Actor, webhook: Webhook) -> WebhookTestResult:
    """Send a signed test event (type "webhook.test") now, so an owner sees at once whether the
    receiver answers and accepts the signature. Nothing is recorded: it is no auth's news."""
    require_owner_or_admin(actor, "test webhooks")
    if webhook.organization_id != actor.organization.pk:
        raise NotFound("Webhook not found.")
    if webhook.signing_secret is None:
        raise RuleViolation(
            "The webhook has no signing secret; set one on its page first.", field="signing_secret"
        )
    event_id = str(uuid.uuid4())
    payload = {
        "id": event_id,
        "type": "webhook.test",
        "created_at": timezone.now().isoformat(),
        "organization": {"id": str(actor.organization.pk), "slug": actor.organization.slug},
        "service": None,
        "authentication": None,
        "message": f"A test event sent by {actor.label}.",
        "data": {},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    status_code, error = webhook_post(webhook=webhook, body=body, event_id=event_id)
    return WebhookTestResult(ok=not error, status_code=status_code, error=error)


def webhook_delivery_reset(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Make a delivery pending again with its attempts reset, to be sent again (the caller queues
    it: events/webhook_actions.py). A delivered one may be sent again too: receivers de-duplicate
    by the event id in EVENT_HEADER."""
    require_owner_or_admin(actor, "redeliver webhook events")
    if delivery.webhook.organization_id != actor.organization.pk:
        raise NotFound("Delivery not found.")
    if not delivery.webhook.is_active:
        raise RuleViolation(
            "The webhook is inactive; activate it before redelivering.", field="webhook"
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, last_error="", response_status=None
    )
    delivery.refresh_from_db()
    return delivery
