"""Authentications (the credentials of one account at one service) and the OAuth transactions that
create them.

The lifecycle columns (status, prediction, refresh scheduling, failure episode, flags) live on the
Authentication row so that a refresh writes credentials and lifecycle in one fenced UPDATE; they are
written only by lifecycle/state.py (tests/test_structure.py enforces it)."""

import uuid

from django.db import models
from django.db.models import Q

from infrastructure.encryption import EncryptedTextField
from services.models import Service
from workspaces.models import EndUser, Membership, Organization, User, Workspace


class AuthStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRING = "expiring", "Expiring soon"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authentication"
    ERROR = "error", "Error"
    DISABLED = "disabled", "Disabled"


class Authentication(models.Model):
    # Written by the connection flows (connections/connection.py) and a refresh (lifecycle/refresh.py).
    CREDENTIAL_FIELDS = (
        "access_token",
        "refresh_token",
        "token_secret",
        "api_key",
        "password",
        "secret_parameters",
        "username",
        "parameters",
        "scopes",
        "token_type",
        "access_token_expires_at",
        "refresh_token_issued_at",
        "consented_at",
        "last_refreshed_at",
        "grant",
    )
    # Written by lifecycle/state.py alone (tests/test_structure.py checks the code for writes).
    LIFECYCLE_FIELDS = (
        "status",
        "status_reason",
        "notified_status",
        "refresh_due_at",
        "refresh_failures",
        "last_refresh_error",
        "last_refresh_failed_at",
        "refresh_token_expires_at",
        "refresh_token_expiry_reason",
        "refresh_token_declared_expires_at",
        "refresh_interrupted_at",
        "flags",
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="authentications"
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="authentications"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="authentications")
    # A member owns it, or an end user of an embedded solution (never both; an organization API
    # key creates auths owned by neither). End users' auths live in the embedded workspace.
    owner = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="authentications"
    )
    end_user = models.ForeignKey(
        EndUser, null=True, blank=True, on_delete=models.PROTECT, related_name="authentications"
    )
    name = models.CharField(max_length=200)

    # Secret material: encrypted at rest, never shown again after saving.
    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    token_secret = EncryptedTextField(null=True, blank=True, help_text="OAuth1 token secret.")
    api_key = EncryptedTextField(null=True, blank=True)
    password = EncryptedTextField(null=True, blank=True)
    secret_parameters = EncryptedTextField(
        null=True, blank=True, help_text="JSON of secret parameter values."
    )

    # Non-secret values
    username = models.CharField(max_length=300, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    token_type = models.CharField(max_length=40, blank=True)
    # Where the credentials may be sent and the client id they were issued to, as the service
    # stood when the person connected (auths/grants.py): a later edit of the service cannot
    # redirect them.
    grant = models.JSONField(default=dict, blank=True)

    # Lifetimes
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    consented_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person last granted access."
    )
    refresh_token_issued_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Predicted death of the refresh token (or the auth)."
    )
    refresh_token_expiry_reason = models.TextField(blank=True)

    status = models.CharField(max_length=16, choices=AuthStatus.choices, default=AuthStatus.ACTIVE)
    status_reason = models.TextField(blank=True)
    # [{"code": "...", "message": "...", "since": iso8601}]
    flags = models.JSONField(default=list, blank=True)

    last_used_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every credential write: a writer that read version N updates only if it is still N.
    version = models.PositiveIntegerField(default=1)

    # Refresh scheduling: the scan claims rows whose refresh_due_at has passed by pushing it forward
    # (a lease) in one UPDATE, so each auth is queued once however many schedulers run.
    refresh_due_at = models.DateTimeField(null=True, blank=True)
    refresh_failures = models.PositiveSmallIntegerField(default=0)
    last_refresh_error = models.TextField(blank=True)
    # Status already notified, so people hear once per episode, not once per attempt.
    notified_status = models.CharField(max_length=16, blank=True)
    # Lifecycle (issue 5): when the last refresh attempt failed (cooldown against refresh storms),
    # and the refresh-token death the provider declared (refresh_token_expires_in and variants).
    last_refresh_failed_at = models.DateTimeField(null=True, blank=True)
    refresh_token_declared_expires_at = models.DateTimeField(null=True, blank=True)
    # A refresh whose answer never reached us (cut at its deadline, or its worker died mid-call):
    # with rotating refresh tokens the provider may have spent the one we hold. A refusal while
    # this is set is explained by it, not by an early death. Cleared by the next success.
    refresh_interrupted_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The scan reads only due rows: its cost follows the number due, not the total.
            models.Index(
                fields=["refresh_due_at"],
                condition=Q(refresh_due_at__isnull=False),
                name="auth_refresh_due_idx",
            ),
            models.Index(fields=["organization", "status"], name="auth_org_status_idx"),
            # The API's list, newest first: a page is read in order, not sorted from every row
            # of the organization.
            models.Index(fields=["organization", "-created_at"], name="auth_org_newest_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(end_user__isnull=True),
                name="auth_owned_by_a_member_or_an_end_user",
            )
        ]

    def __str__(self):
        return self.name


class OAuthTransaction(models.Model):
    """One authorization attempt, stored server-side: single use, bound to who started it, where
    the result goes, and the token URL and redirect URI of that moment (mix-up defence)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state_hash = models.CharField(max_length=64, unique=True)
    code_verifier = EncryptedTextField(null=True, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Or started for an end user (a connect link, the wizard): no person signs in, the single-use
    # state is the binding, and the new auth is the end user's.
    end_user = models.ForeignKey(
        EndUser, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Set when re-authenticating in place: the auth keeps its id.
    authentication = models.ForeignKey(
        Authentication, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    secret_parameters = EncryptedTextField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    token_url = models.CharField(max_length=1000)
    redirect_uri = models.CharField(max_length=1000)
    client_id = models.CharField(max_length=500, blank=True)
    expected_issuer = models.CharField(max_length=1000, blank=True)
    # OAuth1 request token, between the two legs
    request_token = models.CharField(max_length=500, blank=True)
    request_token_secret = EncryptedTextField(null=True, blank=True)
    return_url = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    result_authentication = models.ForeignKey(
        Authentication, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result_error = models.TextField(blank=True)

    def __str__(self):
        return f"OAuth transaction for {self.service_id} ({'used' if self.used_at else 'open'})"
