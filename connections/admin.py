"""Authentications in the admin, for superusers and organization owners (each owner sees their
organizations only): status, reason, expiry, flags and warnings. No secret is ever shown: the
encrypted fields are excluded from forms and display. Renaming goes through authentication_rename
and deleting through authentication_delete (which revokes at the provider); authentications are
created through their flows, not here."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from auths.models import Authentication
from connections.authentications import authentication_delete, authentication_rename
from connections.connection import authentication_warnings, require_manage
from events.models import AuthEvent
from infrastructure.encryption import EncryptedTextField
from pages.admin_display import EMPTY, badge, truncated, when
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
    # Fits 1280 px: long texts are cut to one line (full text on hover and on the auth's page).
    # (The workspace is a filter; warnings, flags and the rest are on the auth's page.)
    list_display = [
        "name",
        "service",
        "owner_email",
        "status_badge",
        "reason",
        "refresh_token_dies",
    ]
    list_filter = [
        "status",
        ("service", admin.RelatedOnlyFieldListFilter),
        ("workspace", admin.RelatedOnlyFieldListFilter),
        ("owner", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "service__name"]
    list_select_related = ["service", "workspace", "owner__user"]
    readonly_fields = [
        "organization",
        "workspace",
        "service",
        "owner",
        "status_badge",
        "member_pages",
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
        "recent_events",
    ]
    organization_path = "organization"
    RECENT_EVENTS = 10

    def get_list_filter(self, request):
        # A superuser sees every organization: let them narrow to one.
        if request.user.is_superuser:
            return [*self.list_filter, ("organization", admin.RelatedOnlyFieldListFilter)]
        return self.list_filter

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="reason, warnings")
    def reason(self, obj):
        return truncated(
            "; ".join(filter(None, [obj.status_reason, *authentication_warnings(obj)]))
        )

    @admin.display(description="owner", ordering="owner__user__email")
    def owner_email(self, obj):
        if obj.owner_id:
            return obj.owner.user.email
        return f"end user {obj.end_user}" if obj.end_user_id else EMPTY

    @admin.display(description="token dies", ordering="refresh_token_expires_at")
    def refresh_token_dies(self, obj):
        return when(obj.refresh_token_expires_at)

    @admin.display(description="on the member pages")
    def member_pages(self, obj):
        if not obj.owner_id:
            return "An end user's auth: re-authenticated through the config wizard."
        slug = obj.organization.slug
        links = [
            (reverse(f"connections:{name}", args=[slug, obj.pk]), label)
            for name, label in (
                ("manage", "Open (test, rename, move)"),
                ("reauthenticate", "Re-authenticate"),
            )
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description="recent events")
    def recent_events(self, obj):
        events = AuthEvent.objects.filter(authentication=obj)[: self.RECENT_EVENTS]
        if not events:
            return "No events yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((when(e.created_at), e.get_kind_display(), e.message) for e in events),
        )
        everything = (
            reverse("admin:events_authevent_changelist")
            + "?"
            + urlencode({"authentication": obj.pk})
        )
        return format_html(
            '<table><thead><tr><th scope="col">When</th><th scope="col">Kind</th>'
            '<th scope="col">Message</th></tr></thead><tbody>{}</tbody></table>'
            '<p><a href="{}">All events of this auth</a></p>',
            rows,
            everything,
        )

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
