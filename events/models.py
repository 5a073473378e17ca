"""The event log of authentications, and how its news reaches people: email and organization
webhooks, each with a delivery log.

These tables began in the auths app; they keep their names (db_table) so moving the code moved no
data."""

from django.db import models

from auths.models import Authentication
from infrastructure.encryption import EncryptedTextField
from services.models import Service
from workspaces.models import Organization


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    REFRESHED = "refreshed", "Refreshed"
    REFRESH_FAILED = "refresh_failed", "Refresh failed"
    RECOVERED = "recovered", "Recovered"
    EXPIRING = "expiring", "Expiring"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authentication"
    EXPIRED_EARLY = "expired_early", "Expired early"
    SERVICE_FLAGGED = "service_flagged", "Service flagged"
    SERVICE_CLEARED = "service_cleared", "Service flag cleared"
    SERVICE_CHANGED = "service_changed", "Service changed where credentials go"
    REAUTHORIZED = "reauthorized", "Re-authorized"
    DISABLED = "disabled", "Disabled"
    ENABLED = "enabled", "Enabled"
    DELETED = "deleted", "Deleted"
    ERROR = "error", "Error"
    # An embedded customer's end user was deleted with their auths and instances (no auth, no
    # service: its context names the end user).
    END_USER_DELETED = "end_user_deleted", "End user deleted"
    # A project, workflow or solution bundle exported or imported (projects/bundles.py,
    # projects/bundle_import.py); data names the bundle, never a secret.
    BUNDLE_EXPORTED = "bundle_exported", "Bundle exported"
    BUNDLE_IMPORTED = "bundle_imported", "Bundle imported"


class AuthEvent(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="auth_events"
    )
    authentication = models.ForeignKey(
        Authentication, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Kept when the authentication is deleted, so the log still says what it was.
    authentication_ref = models.UUIDField(null=True, blank=True)
    authentication_name = models.CharField(max_length=200, blank=True)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Whose auth it was and where it is used, as things stood when the event happened, for those
    # who must act on it: for an end user's auth, `end_user`, `instance_ids` and
    # `reauthentication` (events/recording.py EVENT_CONTEXT_PROVIDERS). Empty for members' auths.
    # Kept on the row because a deletion's event is delivered after the end user is gone.
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "auths_authevent"
        ordering = ["-created_at", "-id"]
        # The event logs page newest first by cursor (infrastructure/pagination.py) within an
        # organization, an organization and a kind, or one auth: each reads its page from one
        # of these, however long the history. The auth one also serves retention's "is there a
        # newer event of this kind" (events/retention.py).
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"], name="event_org_newest_idx"
            ),
            models.Index(
                fields=["organization", "kind", "-created_at", "-id"],
                name="event_org_kind_newest_idx",
            ),
            models.Index(
                fields=["authentication_ref", "-created_at", "-id"], name="event_auth_newest_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind}: {self.authentication_name}"


class Webhook(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.CharField(max_length=1000)
    signing_secret = EncryptedTextField(null=True, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event kinds; empty means all.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "auths_webhook"

    def __str__(self):
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AuthEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "auths_webhookdelivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="webhook_delivery_once")
        ]

    def __str__(self):
        return f"{self.event_id} -> {self.webhook_id}: {self.status}"


class EmailDelivery(models.Model):
    """One notification email about one event, sent by a Celery task with retries (never inline):
    an outage of the mail server delays the email, it never breaks the lifecycle."""

    event = models.OneToOneField(AuthEvent, on_delete=models.CASCADE, related_name="email")
    recipients = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "email deliveries"

    def __str__(self):
        return f"email for event {self.event_id}: {self.status}"
