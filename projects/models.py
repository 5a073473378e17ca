"""Projects, their slots and workflows.

A project lives in a workspace. Its **auth slots** say which service each workflow step calls and
with which scopes; its **config slots** are the settings a person chooses. A workflow's steps name
an auth slot and an HTTP request template whose `{{config.<external_id>}}` placeholders name config
slots. External ids are unique across a project's slots: they are what the embedded API, the
wizard and exported bundles use.
"""

import uuid

from django.db import models

from auths.models import Authentication
from services.models import Service
from workspaces.models import Organization, User, Workspace


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The bundle it was imported from (projects/bundle_import.py): a later import of the same
    # bundle into the same workspace updates this project instead of making another.
    bundle_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "bundle_id"],
                condition=models.Q(bundle_id__isnull=False),
                name="project_one_per_bundle_and_workspace",
            )
        ]

    def __str__(self):
        return self.name


class AuthSlot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="auth_slots")
    external_id = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    scopes = models.JSONField(default=list, blank=True)
    # Not shown to end users in the wizard (a static slot is always hidden).
    hidden = models.BooleanField(default=False)
    # One fixed auth of the organization that every instance uses.
    static_authentication = models.ForeignKey(
        Authentication, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The end user must create a new auth for each instance; an existing one cannot be picked.
    force_unique = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="auth_slot_unique_external_id"
            )
        ]

    def __str__(self):
        return self.external_id

    @property
    def is_static(self) -> bool:
        return self.static_authentication_id is not None


class ConfigType(models.TextChoices):
    STRING = "string", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    SELECT = "select", "One of a list"
    MULTISELECT = "multiselect", "Several of a list"
    JSON = "json", "JSON"


class ConfigSlot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="config_slots")
    external_id = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    help_text = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=ConfigType.choices, default=ConfigType.STRING)
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    pattern = models.CharField(max_length=500, blank=True)
    hidden = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="config_slot_unique_external_id"
            )
        ]

    def __str__(self):
        return self.external_id


class Workflow(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # [{"name", "auth_slot": "<external_id>", "request": {"method", "path", "query", "headers",
    #   "json"}}], checked by projects/definitions.py.
    steps = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]

    def __str__(self):
        return self.name


class ProjectVersion(models.Model):
    """A project's definition as it stood before an import replaced it: what a rollback restores.
    Plain JSON with rows as ids (projects.definitions.project_definition), never a secret."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # {"auth_slots": [...], "config_slots": [...], "workflows": [...]}
    definition = models.JSONField()
    # Why it was kept, e.g. "before importing bundle <id>".
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="project_version_unique_number"
            )
        ]

    def __str__(self):
        return f"{self.project} v{self.number}"


class BundleMapping(models.Model):
    """What an import of one bundle into one workspace decided, remembered so the next import of a
    newer version of the same bundle asks nothing unless something new appears: the service each
    of the bundle's service keys became, and the authentication bound to each static auth slot."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="bundle_mappings"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    bundle_id = models.UUIDField()
    # {"<bundle service key>": "<service id>"}
    services = models.JSONField(default=dict, blank=True)
    # {"<auth slot external id>": "<authentication id>"}
    auths = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "bundle_id"], name="bundle_mapping_one_per_workspace"
            )
        ]

    def __str__(self):
        return f"bundle {self.bundle_id} in {self.workspace_id}"
