"""Projects in the admin, for org owners (their organizations only) and superusers: a project with
its auth slots, config slots and workflows as inlines, saved through the domain functions so the
admin obeys the API's rules. Choices of workspaces, services and static authentications are the
organization's; a static authentication shows by name, never anything of its credentials."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from auths.models import Authentication
from embedded.solution_bundles import SolutionImportResult, any_bundle_import, any_bundle_plan
from infrastructure.errors import DomainError
from infrastructure.ids import uuid_or_none
from projects import projects
from projects.bundle_import import MAX_BUNDLE_BYTES, bundle_parse
from projects.bundles import bundle_dumps, project_bundle
from projects.models import AuthSlot, ConfigSlot, Project, Workflow
from services.models import Service, ServiceSource
from workspaces.admin_scoping import DomainFormAdmin, admin_actor
from workspaces.models import Organization, Workspace
from workspaces.selectors import owned_organization_ids


def _organization_ids(request, obj) -> list | None:
    """The organizations whose rows the form may offer: the project's own once it exists, else
    the ones the user owns (None: a superuser adding a project, the domain checks the choice)."""
    if obj is not None:
        return [obj.organization_id]
    if request.user.is_superuser:
        return None
    return owned_organization_ids(request.user)


class DefinitionFormSet(BaseInlineFormSet):
    """One of the project's lists. The last one to be validated (Django validates the main form,
    then the formsets in order) runs the domain function for the whole project: see
    ProjectAdmin._create_formsets."""

    part: str = ""
    domain_save = None

    def rows(self) -> list[tuple[dict, forms.Form]]:
        """(row, form) of the forms kept, in the order shown: the list as the domain takes it."""
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and (form.instance.pk or form.has_changed())
        ]
        fields = list(self.form.base_fields)
        return [({name: form.cleaned_data.get(name) for name in fields}, form) for form in kept]

    def clean(self):
        super().clean()
        if self.domain_save is not None and not any(self.errors):
            self.domain_save()


class ProjectPartInline(admin.StackedInline):
    """A list of a project: editable wherever the project is, by whoever may see the project (the
    domain function decides whether they may change it)."""

    formset = DefinitionFormSet
    extra = 0

    def _allowed(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        owned = owned_organization_ids(request.user)
        return bool(owned) if obj is None else obj.organization_id in owned

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)  # a new class on every call
        formset.part = self.part
        return formset


class AuthSlotInline(ProjectPartInline):
    model = AuthSlot
    part = "auth_slots"
    fields = [
        "external_id",
        "title",
        "service",
        "scopes",
        "hidden",
        "static_authentication",
        "force_unique",
    ]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        organizations = _organization_ids(request, obj)
        services = Service.objects.filter(
            Q(source=ServiceSource.CONNECTOR) | Q(source=ServiceSource.CUSTOM)
        )
        auths = Authentication.objects.filter(end_user__isnull=True)
        if organizations is not None:
            services = services.filter(
                Q(source=ServiceSource.CONNECTOR) | Q(organization__in=organizations)
            )
            auths = auths.filter(organization__in=organizations)
        fields = formset.form.base_fields
        fields["service"].queryset = services.order_by("name")
        fields["static_authentication"].queryset = auths.select_related("service").order_by("name")
        return formset


class ConfigSlotInline(ProjectPartInline):
    model = ConfigSlot
    part = "config_slots"
    fields = [
        "external_id",
        "title",
        "help_text",
        "type",
        "required",
        "default",
        "choices",
        "pattern",
        "hidden",
    ]


class WorkflowInline(ProjectPartInline):
    model = Workflow
    part = "workflows"
    fields = ["name", "description", "steps"]


# Form fields that come back empty for a value the domain reads as "none".
EMPTY = {
    "scopes": [],
    "choices": [],
    "steps": [],
    "pattern": "",
    "help_text": "",
    "description": "",
}


@admin.register(Project)
class ProjectAdmin(DomainFormAdmin):
    list_display = ["name", "organization", "workspace", "updated_at"]
    list_select_related = ["organization", "workspace"]
    search_fields = ["name"]
    fields = ["workspace", "name", "description", "bundle"]
    readonly_fields = ["bundle"]
    inlines = [AuthSlotInline, ConfigSlotInline, WorkflowInline]

    @admin.display(description="Bundle")
    def bundle(self, obj):
        if obj is None or obj.pk is None:
            return "Save the project first; then it can be exported as a bundle."
        return format_html(
            '<a href="{}">Download as a bundle (JSON)</a> · <a href="{}">Import a bundle</a>',
            reverse("admin:projects_project_bundle", args=[obj.pk]),
            reverse("admin:projects_project_import"),
        )

    # --- bundles: export as a download, import with a plan screen ------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="projects_project_import"),
            path("<uuid:pk>/bundle/", view(self.export_view), name="projects_project_bundle"),
            *super().get_urls(),
        ]

    def export_view(self, request, pk):
        project = self.get_queryset(request).filter(pk=pk).first()
        if project is None:
            raise Http404
        try:
            bundle = project_bundle(
                actor=admin_actor(request, project.organization), project=project
            )
        except DomainError as error:
            raise PermissionDenied(error.message) from None
        response = HttpResponse(bundle_dumps(bundle), content_type="application/json")
        name = slugify(project.name) or "project"
        response["Content-Disposition"] = f'attachment; filename="{name}.bundle.json"'
        return response

    def _organizations(self, request):
        organizations = Organization.objects.order_by("name")
        if not request.user.is_superuser:
            organizations = organizations.filter(pk__in=owned_organization_ids(request.user))
        return organizations

    def import_view(self, request):
        """Upload → plan (each decision, the scope match, what will be created) → import."""
        organizations = self._organizations(request)
        if not organizations.exists():
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a bundle",
            "opts": self.model._meta,
            "organizations": organizations,
            "max_bytes": MAX_BUNDLE_BYTES,
        }
        if request.method != "POST":
            return TemplateResponse(request, "admin/projects/project/bundle_import.html", context)
        organization = organizations.filter(
            pk=uuid_or_none(request.POST.get("organization"))
        ).first()
        if organization is None:
            context["error"] = "Choose one of your organizations."
            return TemplateResponse(request, "admin/projects/project/bundle_import.html", context)
        upload = request.FILES.get("bundle_file")
        text = upload.read(MAX_BUNDLE_BYTES + 1) if upload else request.POST.get("bundle_text", "")
        workspace = Workspace.objects.filter(
            organization=organization, pk=uuid_or_none(request.POST.get("workspace"))
        ).first()
        context.update(
            organization=organization,
            workspaces=Workspace.objects.filter(organization=organization).order_by("name"),
            workspace=workspace,
        )
        page = "admin/projects/project/bundle_import.html"
        try:
            actor = admin_actor(request, organization)
            bundle = bundle_parse(text)
        except DomainError as error:
            context["error"] = error.message
            return TemplateResponse(request, page, context)
        # The bundle travels on in the form, as its canonical text, from the plan to the import.
        context["bundle_text"] = bundle_dumps(bundle)
        values = {"actor": actor, "bundle": bundle, "workspace": workspace}
        if request.POST.get("action") == "import":
            try:
                result = any_bundle_import(**values, choices=_admin_choices(request.POST, bundle))
            except DomainError as error:
                context["error"] = error.message
            else:
                return self._imported(request, result)
        try:
            context["plan"] = _plan_rows(any_bundle_plan(**values))
        except DomainError as error:
            context.setdefault("error", error.message)
        return TemplateResponse(request, page, context)

    def _imported(self, request, result):
        solution = None
        if isinstance(result, SolutionImportResult):
            solution, result = result, result.imported
        project = result.project
        created = ", ".join(f"'{s.name}'" for s in result.services_created)
        message = (
            f"Imported '{project.name}' ({'created' if result.created else 'updated'})"
            + (f"; created the custom service(s) {created}" if created else "")
            + (
                f"; previous definition kept as version {result.version_kept.number}"
                if result.version_kept
                else ""
            )
            + (
                f"; solution release {solution.release.number} published"
                if solution and solution.release
                else ""
            )
            + "."
        )
        messages.success(request, message)
        for warning in result.warnings:
            messages.warning(request, warning)
        return HttpResponseRedirect(reverse("admin:projects_project_change", args=[project.pk]))

    # Saving: Django validates the main form (and calls save_form when it is valid), then the
    # formsets in order. The last formset's clean() saves the whole project through the domain
    # function, inside the admin's transaction as DomainForm does, so a refusal shows beside its
    # field and nothing is saved. (_create_formsets is Django's own, stable since 1.x; it is the
    # one place that holds every formset of the page.)

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        if formsets:
            formsets[-1].domain_save = lambda: self._domain_save(request, obj, formsets)
        return formsets, inline_instances

    def save_form(self, request, form, change):
        form.instance._main_form_valid = True
        return form.instance

    def _domain_save(self, request, obj, formsets):
        if not getattr(obj, "_main_form_valid", False) or not all(
            formset.is_valid() for formset in formsets[:-1]
        ):
            return  # nothing is saved; the errors already shown come first
        by_part = {formset.part: formset.rows() for formset in formsets}
        definition = {
            part: [
                {
                    key: EMPTY[key] if value is None and key in EMPTY else value
                    for key, value in row.items()
                }
                for row, _ in rows
            ]
            for part, rows in by_part.items()
        }
        try:
            actor = admin_actor(request, obj.workspace.organization)
            if obj._state.adding:
                project = projects.project_create(
                    actor=actor,
                    workspace=obj.workspace,
                    name=obj.name,
                    description=obj.description,
                    **definition,
                )
                obj.pk = project.pk  # the admin redirects to (and logs) the project it made
                obj.organization_id = project.organization_id
            else:
                projects.project_update(
                    actor=actor,
                    project=obj,
                    name=obj.name,
                    description=obj.description,
                    **definition,
                )
        except DomainError as error:
            self._show(error, by_part)
            raise forms.ValidationError(error.message) from None

    @staticmethod
    def _show(error: DomainError, by_part: dict) -> None:
        """Put the refusal beside the field it names, e.g. auth_slots[1].scopes on the scopes
        of the second auth slot's form."""
        part, _, rest = (error.field or "").partition("[")
        index, _, path = rest.partition("]")
        field = path.lstrip(".").split(".")[0].split("[")[0]
        rows = by_part.get(part)
        if rows is None or not index.isdigit() or int(index) >= len(rows):
            return
        form = rows[int(index)][1]
        if field in form.fields:
            form.add_error(field, error.message)

    def construct_change_message(self, request, form, formsets, add=False):
        # The formsets were saved by the domain function, not by Django: name what changed
        # (field names only, never values).
        changed = [*form.changed_data]
        changed += [formset.part for formset in formsets if formset.has_changed()]
        return [{"added": {}}] if add else [{"changed": {"fields": changed}}]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            # A project stays in the workspace it was created in.
            form.base_fields["workspace"].disabled = True
        return form

    def delete_check(self, request, obj):
        projects.require_may_manage_project(
            actor=admin_actor(request, obj.organization), workspace=obj.workspace
        )

    def delete_model(self, request, obj):
        projects.project_delete(actor=admin_actor(request, obj.organization), project=obj)


WORDS = {
    "resolved": "catalog connector",
    "remembered": "remembered from the last import",
    "same_definition": "same definition",
    "chosen": "chosen",
    "create": "to be created",
    "missing": "missing",
    "fingerprint": "same definition",
    "name": "same name",
    "token_host": "same token URL host",
    "matching": "matching scopes",
    "other_scopes": "more scopes than the slot's",
    "missing_scopes": "lacks some of the slot's scopes",
    "unbound": "none: imported unbound",
    "per_instance": "given per instance",
}


def _plan_rows(plan: dict) -> dict:
    """The plan with what the page needs: the controls' names, and words for the codes."""
    for service in plan["services"]:
        service["field"] = f"service__{service['key']}"
        service["secret_field"] = f"secret__{service['key']}"
        service["status_text"] = WORDS.get(service["status"], service["status"])
        for candidate in service.get("candidates") or []:
            candidate["match_text"] = WORDS.get(candidate["match"], candidate["match"])
    for slot in plan["auth_slots"]:
        slot["field"] = f"auth__{slot['external_id']}"
        slot["binding_text"] = WORDS.get(slot["binding"], slot["binding"])
        for candidate in slot.get("candidates") or []:
            candidate["match_text"] = WORDS.get(candidate["match"], candidate["match"])
    return plan


def _admin_choices(data, bundle: dict) -> dict:
    """The plan screen's controls as the import's choices: per custom service "" (as planned),
    "create" or the id of a candidate; per static slot "" (as planned), "none" or an id."""
    services, auths = {}, {}
    for entry in bundle["services"]:
        value = data.get(f"service__{entry['key']}", "")
        if value == "create":
            secret = data.get(f"secret__{entry['key']}", "")
            services[entry["key"]] = {"create": {"client_secret": secret} if secret else {}}
        elif value:
            services[entry["key"]] = {"use": value}
    for slot in bundle["auth_slots"]:
        value = data.get(f"auth__{slot['external_id']}", "")
        if value == "none":
            auths[slot["external_id"]] = None
        elif value:
            auths[slot["external_id"]] = value
    return {"services": services, "auths": auths}
