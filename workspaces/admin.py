from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from rest_framework_api_key.admin import APIKeyModelAdmin

from infrastructure.errors import DomainError
from workspaces import invitations, members, organizations, shared_workspaces
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
    allowed_origins = OriginsField(
        required=False,
        help_text="One origin a line (https://app.example.com; http only on localhost): where "
        "connect links may return the end user, and who may frame the config wizard.",
    )

    class Meta:
        model = Organization
        fields = ["name", "edition", "service_account", "allowed_origins", *BRANDING_FIELDS]
        help_texts = {
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
                allowed_origins=self.cleaned_data["allowed_origins"],
                **{name: self.cleaned_data[name] or "" for name in BRANDING_FIELDS},
            )
        except DomainError as error:
            # "allowed_origins[2]" is a line of the one text box: show the error beside it.
            if error.field and error.field.startswith("allowed_origins["):
                error.field = "allowed_origins"
            raise


@admin.register(Organization)
class OrganizationAdmin(DomainFormAdmin):
    organization_path = "pk"
    list_display = ["name", "slug", "edition", "service_account", "created_at"]
    search_fields = ["name", "slug"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = OrganizationChangeForm if obj else OrganizationAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return (
            ["name", "edition", "service_account", "allowed_origins", *BRANDING_FIELDS]
            if obj
            else ["name", "slug", "edition", "owner_email"]
        )

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


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(APIKeyModelAdmin, OrganizationScopedAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "organization"]


@admin.register(UserAPIKey)
class UserAPIKeyAdmin(APIKeyModelAdmin, OrganizationScopedAdmin):
    """Superusers only: people create their own keys through the API."""

    list_display = [*APIKeyModelAdmin.list_display, "user"]

    def _organization_ids(self, request):
        return []
