"""The embedded edition's records.

- **Solution**: a project of the organization's embedded workspace, templated for end users: its
  wizard layout (screens of slots) is edited as a draft and **published** as an immutable
  **Release** (a snapshot of slots, screens and workflows). Its state is derived: draft (never
  published), live (the draft is the latest release), changed (edited since).
- **AuthorizationCode**: a one-time code for one end user (stored hashed, single use, short
  lived): it opens the config wizard, or, as a connect link, goes straight to a provider's
  consent.
- **SolutionInstance**: one end user's activation of a solution, from one release: config values
  and the auths bound to the auth slots. It starts disabled and is enabled only when asked.

End users themselves live in workspaces/ (they own authentications, which sit below this app).
"""

import uuid

from django.db import models
from django.db.models import Q

from auths.models import Authentication, OAuthTransaction
from projects.models import Project
from services.models import Service
from workspaces.models import EndUser, Organization, User, Workspace


class Solution(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="solutions"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="solutions")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="solutions")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The draft wizard layout: {"screens": [{"title", "slots": [external_id, ...]}], "hidden":
    # [external_id, ...]}: generated from the project, edited before publishing. Slots the project
    # gains later join the generated screens unless the builder hid them.
    layout = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self):
        return self.name


class Release(models.Model):
    """What was published, frozen: instances are made from and upgraded to releases."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField()
    # {"auth_slots": [...], "config_slots": [...], "screens": [...], "workflows": [...]}
    snapshot = models.JSONField()
    published_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["solution", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "number"], name="release_unique_number")
        ]

    def __str__(self):
        return f"{self.solution} #{self.number}"


class SolutionInstance(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="solution_instances"
    )
    solution = models.ForeignKey(Solution, on_delete=models.PROTECT, related_name="instances")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="instances")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="instances")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=False)
    # A release added a required slot this instance has no value or auth for: the end user must
    # complete the wizard again before it can be enabled.
    needs_upgrade = models.BooleanField(default=False)
    # {external_id: value}
    config_values = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "end_user"], name="instance_org_user_idx")]

    def __str__(self):
        return self.name


class InstanceAuth(models.Model):
    """An auth bound to an auth slot of an instance (the slot's external id)."""

    instance = models.ForeignKey(
        SolutionInstance, on_delete=models.CASCADE, related_name="auth_bindings"
    )
    slot = models.SlugField(max_length=100)
    authentication = models.ForeignKey(
        Authentication, on_delete=models.CASCADE, related_name="instance_bindings"
    )

    class Meta:
        ordering = ["instance", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "slot"], name="instance_auth_one_per_slot")
        ]

    def __str__(self):
        return f"{self.slot} -> {self.authentication_id}"


class CodePurpose(models.TextChoices):
    WIZARD = "wizard", "Config wizard"
    CONNECT = "connect", "Connect link"


class AuthorizationCode(models.Model):
    """A one-time code for one end user, stored as its SHA-256 (the code is shown once)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="authorization_codes"
    )
    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="authorization_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=CodePurpose.choices)
    # Optionally bound to one solution or one instance (wizard), or to a service or an auth slot
    # (connect link).
    solution = models.ForeignKey(Solution, null=True, blank=True, on_delete=models.CASCADE)
    instance = models.ForeignKey(SolutionInstance, null=True, blank=True, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    slot = models.SlugField(max_length=100, blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # A connect link, once opened: the OAuth transaction it started (its callback finds the link
    # through it), and why its result could not be completed (a slot binding refused).
    oauth_transaction = models.OneToOneField(
        OAuthTransaction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    result_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(purpose="connect") | Q(service__isnull=False),
                name="code_connect_link_names_a_service",
            )
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} for {self.end_user_id}"


class WizardPage(models.TextChoices):
    WIZARD = "wizard", "Config wizard"
    AUTH_DIALOG = "auth_dialog", "Auth-only dialog"


class WizardSession(models.Model):
    """An end user let in by a one-time code (embedded/wizard.py): for one page (a wizard of one
    solution or instance, or the auth dialog of one slot or service) and a short time. Its cookie
    holds a random token, stored here as its SHA-256. The draft keeps the answers between the
    wizard's screens and the sign-ins started in a popup, until Finish saves the instance."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="wizard_sessions"
    )
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="wizard_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    # The code it was opened with: the same address loaded again (a frame reloaded by its page)
    # finds its session instead of a used code.
    code = models.ForeignKey(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    page = models.CharField(max_length=16, choices=WizardPage.choices)
    # The address the code was exchanged at: the session reaches that page and its actions only.
    home_path = models.CharField(max_length=500)
    solution = models.ForeignKey(Solution, null=True, blank=True, on_delete=models.CASCADE)
    # The instance edited (or, once a new one is saved, made); for the dialog, the instance whose
    # slot receives the new auth.
    instance = models.ForeignKey(SolutionInstance, null=True, blank=True, on_delete=models.CASCADE)
    # The dialog: the auth slot (external id) or the service to connect, and the auth to
    # re-authenticate in place.
    slot = models.SlugField(max_length=100, blank=True)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    authentication = models.ForeignKey(
        Authentication, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # {"auths": {slot: auth id}, "config": {external_id: value}, "pending": {slot: OAuth
    # transaction id}, "created": [auth ids made in this session], "errors": {slot: message}}
    draft = models.JSONField(default=dict, blank=True)
    # Once finished: the message the page posts to the embedding page ({"type": ...}).
    result = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "expires_at"], name="wizard_session_expiry_idx")
        ]

    def __str__(self):
        return f"{self.get_page_display()} for {self.end_user_id}"
