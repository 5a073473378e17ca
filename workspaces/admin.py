from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from rest_framework_api_key.admin import APIKeyModelAdmin

from infrastructure.errors import DomainError
from workspaces import api_key_management, invitations, members, organizations, shared_workspaces
from workspaces.admin_scoping import (
    DomainForm,
    DomainFormAdmin,
    OrganizationScopedAdmin,
    admin_actor,
)
from workspaces.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationAPIKey,
    User,
    UserAPIKey,
    Workspace,
    WorkspaceKind,
    WorkspaceMembership,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People are managed by superusers; org owners manage memberships instead."""

    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_superuser"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class OrganizationAddForm(DomainForm):
    owner_email = forms.EmailField(help_text="An existing user who becomes the owner.")

    class Meta:
        model = Organization
        fields = ["name", "slug", "edition"]

    def perform(self):
        owner = User.objects.filter(email__iexact=self.cleaned_data["owner_email"]).first()
        if owner is None:
            raise DomainError("No user has this email; create the user first.", field="owner_email")
        return organizations.organization_create(
            name=self.cleaned_data["name"],
            slug=self.cleaned_data["slug"],
            edition=self.cleaned_data["edition"],
            owner=owner,
        )


class OriginsField(forms.CharField):
    """A list of origins edited as text, one a line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


# The branding of the end-user pages (workspaces/branding.py).
BRANDING_FIELDS = ["wizard_brand_name", "wizard_logo_url", "wizard_accent_colour"]


class OrganizationChangeForm(DomainForm):
    expiry_warning_days = forms.IntegerField(
        required=False,
        label="Expiry warning (days)",
        help_text="Days before an authentication dies that it turns “expiring” and its owner "
        "and you are told (1 to 60; empty keeps the current value).",
    )
    allowed_origins = OriginsField(
        required=False,
        help_text="One origin a line (https://app.example.com; http only on localhost): where "
        "connect links may return the end user, and who may frame the config wizard.",
    )

    class Meta:
        model = Organization
        fields = [
            "name",
            "edition",
            "service_account",
            "expiry_warning_days",
            "allowed_origins",
            *BRANDING_FIELDS,
        ]
        help_texts = {
            "service_account": "The member who owns custom services when their owner leaves "
            "(deactivating a member moves their services to it). A dedicated account, not a "
            "person, is best.",
            "wizard_brand_name": "Shown in the header of the config wizard and the auth dialog; "
            "empty: the organization's name.",
            "wizard_logo_url": "https URL of a logo for those pages (loaded from that host, "
            "without a Referer); empty: the brand name only.",
            "wizard_accent_colour": "#rrggbb for their buttons and links; white text on it must "
            "reach a contrast of 4.5:1.",
        }

    def perform(self):
        try:
            return organizations.organization_update(
                actor=admin_actor(self.request, self.instance),
                organization=Organization.objects.get(pk=self.instance.pk),
                name=self.cleaned_data["name"],
                edition=self.cleaned_data["edition"],
                service_account=self.cleaned_data["service_account"],
                clear_service_account=self.cleaned_data["service_account"] is None,
                expiry_warning_days=self.cleaned_data["expiry_warning_days"],
                allowed_origins=self.cleaned_data["allowed_origins"],
                **{name: self.cleaned_data[name] or "" for name in BRANDING_FIELDS},
            )
        except DomainError as error:
            # "allowed_origins[2]" is a line of the one text box: show the error beside it.
            if error.field and error.field.startswith("allowed_origins["):
                error.field = "allowed_origins"
            raise


class OnpremHostsForm(DomainForm):
    """A platform superuser's form for the on-prem allow-list (a security boundary: owners see it
    read-only on their form)."""

    onprem_allowed_hosts = OriginsField(
        required=False,
        label="On-prem allowed hosts",
        help_text="One host name a line (erp.corp.example): hosts on the organization's own "
        "network its services may call although they resolve to private addresses. Opens the "
        "outbound guard for those names only.",
    )

    class Meta:
        model = Organization
        fields = ["onprem_allowed_hosts"]

    def perform(self):
        try:
            return organizations.organization_onprem_hosts_set(
                user=self.request.user,
                organization=Organization.objects.get(pk=self.instance.pk),
                hosts=self.cleaned_data["onprem_allowed_hosts"],
            )
        except DomainError as error:
            if error.field and error.field.startswith("onprem_allowed_hosts["):
                error.field = "onprem_allowed_hosts"
            raise


class SuperuserOrganizationChangeForm(OrganizationChangeForm):
    """A superuser who is a member of the organization edits both; one who is not (the platform
    operator) edits the allow-list only."""

    onprem_allowed_hosts = OnpremHostsForm.base_fields["onprem_allowed_hosts"]

    class Meta(OrganizationChangeForm.Meta):
        fields = [*OrganizationChangeForm.Meta.fields, "onprem_allowed_hosts"]

    def perform(self):
        # Refusals before any write: a refused form must leave nothing half-saved.
        is_member = Membership.objects.filter(
            organization=self.instance, user=self.request.user, is_active=True
        ).exists()
        if not is_member and set(self.changed_data) - {"onprem_allowed_hosts"}:
            raise DomainError(
                "You are not a member of this organization: as a platform superuser you edit its "
                "on-prem allow-list only; its owner edits the rest."
            )
        with transaction.atomic():  # both or neither
            hosts = OnpremHostsForm.perform(self)
            return super().perform() if is_member else hosts


ORGANIZATION_FIELDSETS = [
    (None, {"fields": ["name", "edition", "service_account"]}),
    ("Expiry warnings", {"fields": ["expiry_warning_days"]}),
    (
        "Embedding and branding",
        {
            "fields": ["allowed_origins", *BRANDING_FIELDS],
            "description": "Where the embedded edition's pages may be shown, and how they look.",
        },
    ),
]


@admin.register(Organization)
class OrganizationAdmin(DomainFormAdmin):
    organization_path = "pk"
    list_display = ["name", "slug", "edition", "service_account", "created_at"]
    search_fields = ["name", "slug"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OrganizationAddForm
        elif request.user.is_superuser:
            kwargs["form"] = SuperuserOrganizationChangeForm
        else:
            kwargs["form"] = OrganizationChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "slug", "edition", "owner_email"]})]
        onprem = "onprem_allowed_hosts" if request.user.is_superuser else "onprem_hosts"
        return [
            *ORGANIZATION_FIELDSETS,
            (
                "On-prem hosts",
                {
                    "fields": [onprem],
                    "description": "Set by the platform's superusers only: it opens the outbound "
                    "guard to private addresses.",
                },
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["onprem_hosts"] if obj is not None and not request.user.is_superuser else []

    @admin.display(description="On-prem allowed hosts")
    def onprem_hosts(self, obj):
        return ", ".join(obj.onprem_allowed_hosts) or "None: services call public hosts only."

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "service_account":
            # After the base class, which would widen it to every owned organization.
            obj_id = request.resolver_match.kwargs.get("object_id")
            formfield.queryset = User.objects.filter(
                memberships__organization_id=obj_id, memberships__is_active=True
            )
        return formfield


class InvitationAddForm(DomainForm):
    class Meta:
        model = Invitation
        fields = ["organization", "email", "name", "role"]

    def perform(self):
        actor = admin_actor(self.request, self.cleaned_data["organization"])
        return invitations.member_invite(
            actor=actor,
            email=self.cleaned_data["email"],
            name=self.cleaned_data["name"],
            role=self.cleaned_data["role"],
            base_url=self.request.build_absolute_uri("/"),
        )


@admin.register(Invitation)
class InvitationAdmin(DomainFormAdmin):
    """Members join by invitation: adding one emails the link. Sent invitations are read-only;
    inviting the same address again replaces the earlier link."""

    form = InvitationAddForm
    list_display = ["email", "organization", "role", "status", "invited_by", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email"]
    readonly_fields = ["status", "invited_by", "created_at", "expires_at", "accepted_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "email", "name", "role"]
        return ["organization", "email", "name", "role", *self.readonly_fields]

    @admin.display(description="status")
    def status(self, obj):
        return invitations.invitation_status(obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipChangeForm(DomainForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def perform(self):
        membership = Membership.objects.get(pk=self.instance.pk)
        if self.cleaned_data["role"] == membership.role:
            return membership
        actor = admin_actor(self.request, membership.organization)
        return members.member_change_role(
            actor=actor, membership=membership, role=self.cleaned_data["role"]
        )


@admin.register(Membership)
class MembershipAdmin(DomainFormAdmin):
    list_display = ["user", "organization", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email"]
    actions = ["deactivate", "make_owner"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MembershipChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["role"]

    def has_add_permission(self, request):
        # People join by invitation (Invitations, above): the membership comes when they accept.
        return False

    def has_delete_permission(self, request, obj=None):
        # Members are deactivated, never deleted: their assets stay.
        return False

    def _run(self, request, queryset, operation, done):
        for membership in queryset:
            try:
                operation(
                    actor=admin_actor(request, membership.organization), membership=membership
                )
            except DomainError as error:
                self.message_user(request, f"{membership.user}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{membership.user}: {done}.", messages.SUCCESS)

    @admin.action(description="Deactivate the selected members (their assets stay)")
    def deactivate(self, request, queryset):
        self._run(request, queryset, members.member_deactivate, "deactivated")

    @admin.action(description="Transfer ownership to the selected member")
    def make_owner(self, request, queryset):
        def transfer(*, actor, membership):
            organizations.ownership_transfer(
                actor=actor, organization=membership.organization, new_owner=membership
            )

        self._run(request, queryset, transfer, "is now the owner")


class WorkspaceAddForm(DomainForm):
    class Meta:
        model = Workspace
        fields = ["organization", "name"]

    def perform(self):
        actor = admin_actor(self.request, self.cleaned_data["organization"])
        return shared_workspaces.workspace_create(actor=actor, name=self.cleaned_data["name"])


class WorkspaceChangeForm(DomainForm):
    class Meta:
        model = Workspace
        fields = ["name"]

    def perform(self):
        workspace = Workspace.objects.get(pk=self.instance.pk)
        actor = admin_actor(self.request, workspace.organization)
        return shared_workspaces.workspace_rename(
            actor=actor, workspace=workspace, name=self.cleaned_data["name"]
        )


class WorkspaceMemberInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    can_delete = False
    readonly_fields = ["membership", "role"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(DomainFormAdmin):
    list_display = ["name", "kind", "organization", "personal_owner", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    inlines = [WorkspaceMemberInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = WorkspaceChangeForm if obj else WorkspaceAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name"] if obj else ["organization", "name"]

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or obj.kind == WorkspaceKind.SHARED
        )

    def delete_check(self, request, obj):
        shared_workspaces.workspace_delete_check(
            actor=admin_actor(request, obj.organization), workspace=obj
        )

    def delete_model(self, request, obj):
        shared_workspaces.workspace_delete(
            actor=admin_actor(request, obj.organization), workspace=obj
        )


class WorkspaceMembershipAddForm(DomainForm):
    class Meta:
        model = WorkspaceMembership
        fields = ["workspace", "membership", "role"]

    def perform(self):
        workspace = self.cleaned_data["workspace"]
        return shared_workspaces.workspace_member_add(
            actor=admin_actor(self.request, workspace.organization),
            workspace=workspace,
            membership=self.cleaned_data["membership"],
            role=self.cleaned_data["role"],
        )


@admin.register(WorkspaceMembership)
class WorkspaceMembershipAdmin(DomainFormAdmin):
    organization_path = "workspace__organization"
    list_display = ["workspace", "membership", "role"]
    form = WorkspaceMembershipAddForm

    def has_change_permission(self, request, obj=None):
        return False

    def delete_check(self, request, obj):
        shared_workspaces.workspace_member_remove_check(
            actor=admin_actor(request, obj.workspace.organization), row=obj
        )

    def delete_model(self, request, obj):
        shared_workspaces.workspace_member_remove(
            actor=admin_actor(request, obj.workspace.organization), row=obj
        )


class APIKeyAdminBase(APIKeyModelAdmin, OrganizationScopedAdmin):
    """Keys are revoked with the action (a domain function), never by ticking a box: the add form
    has no "Revoked" checkbox and the change form shows it read-only."""

    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return [f for f in super().get_fields(request, obj) if obj is not None or f != "revoked"]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None or "revoked" in readonly else (*readonly, "revoked")

    def has_revoke_permission(self, request):
        return self._in_scope(request, None)

    def revoke_one(self, request, key):
        raise NotImplementedError

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        for key in queryset:
            try:
                self.revoke_one(request, key)
            except DomainError as error:
                self.message_user(request, f"{key.name}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{key.name} ({key.prefix}…): revoked.", messages.SUCCESS
                )


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(APIKeyAdminBase):
    list_display = [*APIKeyModelAdmin.list_display, "organization"]
    list_filter = ["revoked"]

    def revoke_one(self, request, key):
        api_key_management.organization_api_key_revoke(
            actor=admin_actor(request, key.organization), key=key
        )


@admin.register(UserAPIKey)
class UserAPIKeyAdmin(APIKeyAdminBase):
    """Members create their own keys on their API keys page; an owner sees the keys of their
    organization's members and may revoke them (superusers: every key)."""

    list_display = [*APIKeyModelAdmin.list_display, "user"]
    list_filter = ["revoked"]

    def get_queryset(self, request):
        queryset = UserAPIKey.objects.select_related("user")
        if request.user.is_superuser:
            return queryset
        return api_key_management.member_api_keys_for_owner(
            organization_ids=self._organization_ids(request)
        ).select_related("user")

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def revoke_one(self, request, key):
        if request.user.is_superuser:
            api_key_management.api_key_revoke(key=key)
            return
        # The owner acts in an organization they own that the key's person belongs to.
        organization = Organization.objects.filter(
            pk__in=self._organization_ids(request), memberships__user=key.user_id
        ).first()
        api_key_management.member_api_key_revoke(actor=admin_actor(request, organization), key=key)
