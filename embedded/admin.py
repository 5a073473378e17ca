"""The embedded edition in the admin, for org owners (their organizations only) and superusers:
solutions with their state and releases (publish is an action, through the domain function),
and instances with the health of their bound auths. Edits of layouts and bindings go through the
API; nothing here shows a secret."""

from django.contrib import admin, messages
from django.utils.html import format_html_join

from embedded import instances, solutions
from embedded.models import Release, Solution, SolutionInstance
from infrastructure.errors import DomainError
from workspaces.admin_scoping import OrganizationScopedAdmin, ReadOnlyScopedAdmin, admin_actor


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
    fields = ["name", "organization", "project", "description", "state", "layout"]
    readonly_fields = fields
    inlines = [ReleaseInline]
    actions = ["publish"]

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
