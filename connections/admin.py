"""Authentications in the admin, for superusers and organization owners (each owner sees their
organizations only): status, reason, expiry, flags and warnings. No secret is ever shown: the
encrypted fields are excluded from forms and display. Renaming goes through authentication_rename
and deleting through authentication_delete (which revokes at the provider); authentications are
created through their flows, not here."""

from django.contrib import admin
from django.utils.html import format_html_join

from auths.models import Authentication
from connections.authentications import authentication_delete, authentication_rename
from connections.connection import authentication_warnings, require_manage
from infrastructure.encryption import EncryptedTextField
from workspaces.admin_scoping import DomainForm, DomainFormAdmin, admin_actor

SECRET_FIELDS = tuple(
    f.name for f in Authentication._meta.get_fields() if isinstance(f, EncryptedTextField)
)


class AuthenticationRenameForm(DomainForm):
    class Meta:
        model = Authentication
        fields = ["name"]

    def perform(self):
        return authentication_rename(
            actor=admin_actor(self.request, self.instance.organization),
            authentication=Authentication.objects.get(pk=self.instance.pk),
            name=self.cleaned_data["name"],
        )


@admin.register(Authentication)
class AuthenticationAdmin(DomainFormAdmin):
    form = AuthenticationRenameForm
    exclude = SECRET_FIELDS
    list_display = [
        "name",
        "service",
        "workspace",
        "status",
        "status_reason",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "warning_list",
        "last_used_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "service__name"]
    list_select_related = ["service", "workspace"]
    readonly_fields = [
        "organization",
        "workspace",
        "service",
        "owner",
        "status",
        "status_reason",
        "flag_list",
        "warning_list",
        "scopes",
        "parameters",
        "username",
        "token_type",
        "access_token_expires_at",
        "refresh_token_issued_at",
        "refresh_token_expires_at",
        "refresh_token_expiry_reason",
        "consented_at",
        "last_used_at",
        "last_refreshed_at",
        "refresh_failures",
        "last_refresh_error",
        "version",
        "created_at",
        "updated_at",
    ]
    organization_path = "organization"

    def has_add_permission(self, request):
        return False

    @admin.display(description="warnings")
    def warning_list(self, obj):
        return "; ".join(authentication_warnings(obj)) or "—"

    @admin.display(description="flags")
    def flag_list(self, obj):
        flags = [f for f in (obj.flags or []) if isinstance(f, dict)]
        if not flags:
            return "—"
        return format_html_join(
            "", "<p><strong>{}</strong>: {}</p>", ((f.get("code"), f.get("message")) for f in flags)
        )

    def delete_check(self, request, obj):
        require_manage(
            actor=admin_actor(request, obj.organization), authentication=obj, action="delete"
        )

    def delete_model(self, request, obj):
        authentication_delete(actor=admin_actor(request, obj.organization), authentication=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
