"""Admin building blocks every app uses: tenant scoping for org owners, and forms whose save is a
domain function (so the admin obeys the same rules as the API)."""

from django import forms
from django.contrib import admin

from infrastructure.errors import DomainError
from workspaces.access import actor_for
from workspaces.models import Membership, Organization, User, Workspace
from workspaces.selectors import owned_organization_ids


def admin_actor(request, organization):
    return actor_for(organization=organization, user=request.user)


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; an org owner sees the rows of the organizations they own.

    `organization_path` is the lookup from the model to its Organization.
    """

    organization_path = "organization"

    def _organization_ids(self, request):
        # Asked once per model and permission while the admin builds a page (the home page asks
        # ~100 times): read once per request.
        if not hasattr(request, "owned_organization_ids"):
            request.owned_organization_ids = owned_organization_ids(request.user)
        return request.owned_organization_ids

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_path}__in": self._organization_ids(request)})

    def _in_scope(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return bool(self._organization_ids(request))
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return self._in_scope(request, None)

    def has_view_permission(self, request, obj=None):
        return self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._in_scope(request, obj)

    def has_add_permission(self, request):
        return self._in_scope(request, None)

    def has_delete_permission(self, request, obj=None):
        return self._in_scope(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            owned = self._organization_ids(request)
            scoped = {
                Organization: Organization.objects.filter(pk__in=owned),
                Membership: Membership.objects.filter(organization__in=owned),
                Workspace: Workspace.objects.filter(organization__in=owned),
                User: User.objects.filter(memberships__organization__in=owned).distinct(),
            }
            if db_field.related_model in scoped:
                kwargs["queryset"] = scoped[db_field.related_model]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DomainForm(forms.ModelForm):
    """A form whose effect is one domain function. `perform()` runs during validation, inside the
    admin's transaction, so a refused rule shows up as a field error and nothing is saved."""

    request = None
    result = None

    def perform(self):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.result = self.perform()
        except DomainError as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, error.message)
        return cleaned


class DomainFormAdmin(OrganizationScopedAdmin):
    """Admin whose add/change forms are DomainForms: saving is the domain function's job."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def save_form(self, request, form, change):
        return form.result

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def delete_check(self, request, obj) -> None:
        """Raise a DomainError when the domain would refuse to delete `obj` (subclasses call the
        domain function's check)."""

    def get_deleted_objects(self, objs, request):
        # A refusal of the domain rules is shown on the confirmation page like a protected row,
        # so the admin never calls delete_model for something the domain function would refuse.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        for obj in objs:
            try:
                self.delete_check(request, obj)
            except DomainError as error:
                protected.append(f"{obj}: {error.message}")
        return deleted, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action goes through delete_model, object by object, so the
        # domain rules apply there too.
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Logs and records nobody edits by hand (events, deliveries): view only, scoped."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
