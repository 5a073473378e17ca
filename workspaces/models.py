"""Tenancy: organizations, their members and roles, and the workspaces where assets live.

The invariants (one owner, one organization workspace, one personal workspace per member, one
embedded workspace) are enforced twice: by the domain functions in organizations.py, members.py and
shared_workspaces.py, which give people a clear message, and by database constraints here, which
hold whichever way data arrives.
"""

import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("email: an email address is required to create a user.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person (or a service account) who logs in with an email address."""

    username = None
    first_name = None
    last_name = None
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    def __str__(self):
        return self.email


class Edition(models.TextChoices):
    PLATFORM = "platform", "Platform"
    EMBEDDED = "embedded", "Embedded"
    BOTH = "both", "Platform and embedded"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    edition = models.CharField(max_length=16, choices=Edition.choices, default=Edition.PLATFORM)
    # The recommended owner of custom services, so a person leaving cannot take them along.
    service_account = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Hosts on the organization's own network that services may call although they resolve to
    # private addresses (on-prem systems). Exact host names, set by the owner.
    onprem_allowed_hosts = models.JSONField(default=list, blank=True)
    # How many days before an authentication dies it becomes `expiring` and people are told.
    expiry_warning_days = models.PositiveSmallIntegerField(default=7)
    # Origins (scheme://host[:port]) of the embedded customer's own pages: where connect links may
    # return, and (with the wizard pages) who may frame the wizard.
    allowed_origins = models.JSONField(default=list, blank=True)
    # Branding of the end-user pages (config wizard, auth-only dialog), checked by
    # workspaces/branding.py: the name in their header (empty: the organization's name), a logo
    # loaded from the customer's https host, and the accent colour of buttons and links (#rrggbb,
    # readable under white text).
    wizard_brand_name = models.CharField(max_length=100, blank=True)
    wizard_logo_url = models.CharField(max_length=1000, blank=True)
    wizard_accent_colour = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def has_platform(self) -> bool:
        return self.edition in (Edition.PLATFORM, Edition.BOTH)

    @property
    def has_embedded(self) -> bool:
        return self.edition in (Edition.EMBEDDED, Edition.BOTH)


class OrgRole(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.CONTRIBUTOR)
    # Deactivated members keep their rows and assets; they lose access.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(role="owner"), name="membership_one_owner"
            ),
            models.CheckConstraint(
                condition=~Q(role="owner") | Q(is_active=True), name="membership_owner_is_active"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_owner_or_admin(self) -> bool:
        return self.role in (OrgRole.OWNER, OrgRole.ADMIN)


class Invitation(models.Model):
    """An invitation to join an organization, sent by email (workspaces/invitations.py). The link
    carries a random token; only its SHA-256 is stored, so the table cannot be used to sign in.
    It works once (accepted_at), until expires_at, unless a newer invitation replaced it
    (revoked_at). The membership is made when it is accepted, not before."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    # The name a new person's account gets (they may change it when they accept).
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.CONTRIBUTOR)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # None when an organization API key invited (no person behind it).
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "-created_at"]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]
        constraints = [
            models.CheckConstraint(condition=~Q(role="owner"), name="invitation_not_owner"),
        ]

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.role})"


class WorkspaceKind(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    PERSONAL = "personal", "Personal"
    SHARED = "shared", "Shared"
    EMBEDDED = "embedded", "Embedded"


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="workspaces"
    )
    kind = models.CharField(max_length=16, choices=WorkspaceKind.choices)
    name = models.CharField(max_length=200)
    # Set for personal workspaces only: the member whose workspace it is.
    personal_owner = models.OneToOneField(
        Membership,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="personal_workspace",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(kind="organization"),
                name="workspace_one_organization_workspace",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(kind="embedded"),
                name="workspace_one_embedded_workspace",
            ),
            models.CheckConstraint(
                condition=(Q(kind="personal") & Q(personal_owner__isnull=False))
                | (~Q(kind="personal") & Q(personal_owner__isnull=True)),
                name="workspace_personal_has_owner",
            ),
        ]

    def __str__(self):
        # Personal workspaces are named "<person> (personal)" already: say the kind once.
        suffix = f"({self.kind})"
        return self.name if self.name.endswith(suffix) else f"{self.name} {suffix}"


class WorkspaceRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


class WorkspaceMembership(models.Model):
    """Membership of a shared (or embedded) workspace. Organization and personal workspaces derive
    their members from the organization, so they have no rows here."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    role = models.CharField(
        max_length=16, choices=WorkspaceRole.choices, default=WorkspaceRole.CONTRIBUTOR
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "membership"], name="workspace_member_unique"
            )
        ]

    def __str__(self):
        return f"{self.membership.user} in {self.workspace} ({self.role})"


class UserAPIKey(AbstractAPIKey):
    """A machine credential that acts as one person, with that person's roles."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "member API key"
        verbose_name_plural = "member API keys"


class OrganizationAPIKey(AbstractAPIKey):
    """A machine credential of one organization (an embedded customer's backend). It acts with the
    admin role inside that organization and sees nothing outside it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "organization API key"
        verbose_name_plural = "organization API keys"


class EndUser(models.Model):
    """A user of an embedded customer's own product: not a member. They never sign in to the
    admin or the API; the customer's backend creates them (an organization API key) and sends them
    to the wizard or a connect link with a one-time code. They own authentications and solution
    instances in the embedded workspace."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="end_users"
    )
    # The customer's own id for the person: how its backend finds them again.
    external_user_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True)
    # Kept out of usage counts (a customer's staff trying the integration).
    is_test_user = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_user_id"], name="end_user_unique_external_id"
            )
        ]

    def __str__(self):
        return self.name or self.external_user_id
