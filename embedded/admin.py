"""The embedded edition in the admin, for org owners (their organizations only) and superusers:
solutions with their state and releases (publish is an action, through the domain function),
instances with the health of their bound auths, and end users with their auths' health and
instance count (deleted through the domain function, which revokes their auths). Edits of
layouts, bindings and end users go through the API; nothing here shows a secret."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from auths.models import Authentication, AuthStatus
from embedded import end_users, instances, solution_bundles, solutions
from embedded.access import require_embedded_builder
from embedded.models import Release, Solution, SolutionInstance
from infrastructure.errors import DomainError
from projects.bundles import bundle_dumps
from workspaces.admin_scoping import (
    DomainFormAdmin,
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    admin_actor,
)
from workspaces.models import EndUser


class ReleaseInline(admin.TabularInline):
    model = Release
    fields = ["number", "published_at", "published_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Solution)
class SolutionAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "project", "state", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "organization", "project", "description", "state", "layout", "bundle"]
    readonly_fields = fields
    inlines = [ReleaseInline]
    actions = ["publish"]

    @admin.display(description="Bundle")
    def bundle(self, obj):
        if obj is None or not obj.releases.exists():
            return "Publish it first: a solution bundle is what was released."
        return format_html(
            '<a href="{}">Download the latest release as a bundle (JSON)</a>',
            reverse("admin:embedded_solution_bundle", args=[obj.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<uuid:pk>/bundle/",
                self.admin_site.admin_view(self.export_view),
                name="embedded_solution_bundle",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request, pk):
        solution = self.get_queryset(request).filter(pk=pk).first()
        if solution is None:
            raise Http404
        try:
            bundle = solution_bundles.solution_bundle(
                actor=admin_actor(request, solution.organization), solution=solution
            )
        except DomainError as error:
            raise PermissionDenied(error.message) from None
        response = HttpResponse(bundle_dumps(bundle), content_type="application/json")
        name = slugify(solution.name) or "solution"
        response["Content-Disposition"] = f'attachment; filename="{name}.bundle.json"'
        return response

    def has_add_permission(self, request):
        return False  # made from a project through the API

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="State")
    def state(self, obj):
        return solutions.solution_state(obj)

    @admin.action(description="Publish the selected solutions as a new release")
    def publish(self, request, queryset):
        for solution in queryset:
            try:
                release = solutions.solution_publish(
                    actor=admin_actor(request, solution.organization), solution=solution
                )
            except DomainError as error:
                self.message_user(request, f"{solution.name}: {error.message}", messages.ERROR)
                continue
            counts = instances.instances_follow_release(solution=solution, release=release)
            self.message_user(
                request,
                f"{solution.name}: release {release.number} published; {counts['upgraded']} "
                f"instance(s) upgraded, {counts['needs_upgrade']} waiting for their end user.",
            )

    def delete_model(self, request, obj):
        solutions.solution_delete(actor=admin_actor(request, obj.organization), solution=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(SolutionInstance)
class SolutionInstanceAdmin(ReadOnlyScopedAdmin):
    list_display = ["name", "solution", "end_user", "release", "enabled", "needs_upgrade"]
    list_filter = ["enabled", "needs_upgrade"]
    search_fields = ["name", "end_user__external_user_id"]
    list_select_related = ["solution", "end_user", "release"]
    fields = [
        "name",
        "solution",
        "release",
        "end_user",
        "enabled",
        "needs_upgrade",
        "config_values",
        "bound_auths",
        "problems",
    ]
    readonly_fields = fields

    @admin.display(description="Bound auths")
    def bound_auths(self, obj):
        rows = [
            (value.external_id, value.authentication_id or "—", value.status or "unbound")
            for value in instances.instance_auth_values(obj)
        ]
        return format_html_join("", "<div>{}: {} ({})</div>", rows) or "—"

    @admin.display(description="Why it cannot be enabled")
    def problems(self, obj):
        return "; ".join(instances.instance_problems(obj)) or "Nothing: it can be enabled."


# --- end users -----------------------------------------------------------------------------------


@admin.register(EndUser)
class EndUserAdmin(DomainFormAdmin):
    """End users are made and edited by the customer's backend (the API); here an org owner finds
    them, sees the health of their auths and how many instances they have, and may delete one
    (through end_user_delete: their auths are revoked at the provider first)."""

    list_display = [
        "external_user_id",
        "name",
        "organization",
        "is_test_user",
        "auth_health",
        "instance_count",
        "created_at",
    ]
    list_filter = ["is_test_user"]
    search_fields = ["external_user_id", "name"]
    list_select_related = ["organization"]
    fields = [
        "external_user_id",
        "name",
        "organization",
        "is_test_user",
        "metadata",
        "auth_health",
        "auth_list",
        "instance_count",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        per_status = {
            f"auths_{value}": Count(
                "authentications", filter=Q(authentications__status=value), distinct=True
            )
            for value in AuthStatus.values
        }
        return (
            super()
            .get_queryset(request)
            .annotate(instances_total=Count("instances", distinct=True), **per_status)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Auths")
    def auth_health(self, obj):
        counts = {value: getattr(obj, f"auths_{value}", 0) for value in AuthStatus.values}
        total = sum(counts.values())
        if not total:
            return "none"
        if counts[AuthStatus.ACTIVE] == total:
            return f"{total}, all active"
        return f"{total}: " + ", ".join(
            f"{counts[value]} {label.lower()}"
            for value, label in AuthStatus.choices
            if counts[value]
        )

    @admin.display(description="Instances", ordering="instances_total")
    def instance_count(self, obj):
        return getattr(obj, "instances_total", 0)

    @admin.display(description="Authentications")
    def auth_list(self, obj):
        rows = [
            (
                auth.name,
                auth.service.name,
                auth.get_status_display(),
                f": {auth.status_reason}" if auth.status_reason else "",
            )
            for auth in obj.authentications.select_related("service").order_by("created_at")
        ]
        return format_html_join("", "<div>{} ({}): {}{}</div>", rows) or "—"

    def delete_check(self, request, obj):
        require_embedded_builder(admin_actor(request, obj.organization), "delete end users")

    def get_deleted_objects(self, objs, request):
        # Django would list their auths as protected rows (PROTECT): the domain function revokes
        # and deletes them, so say that instead, with any refusal of the domain rules.
        objs = list(objs)
        protected = []
        for obj in objs:
            try:
                self.delete_check(request, obj)
            except DomainError as error:
                protected.append(f"{obj}: {error.message}")
        counts = {
            "end users": len(objs),
            "authentications (revoked at the provider first)": Authentication.objects.filter(
                end_user__in=objs
            ).count(),
            "solution instances": SolutionInstance.objects.filter(end_user__in=objs).count(),
        }
        return [str(obj) for obj in objs], counts, set(), protected

    def delete_model(self, request, obj):
        summary = end_users.end_user_delete(
            actor=admin_actor(request, obj.organization), end_user=obj
        )
        self.message_user(request, f"{obj.external_user_id}: {summary.describe()}")
