"""Admin for services. Org owners see their organization's custom services and the catalog
connectors (read-only); superusers see everything and may correct a connector (the data files win
on the next load). Saving a custom service goes through the domain functions, so the admin obeys
the same rules as the API. The client secret is write-only: never rendered, only "set" or "not
set"; warnings are shown on the list and on the page."""

import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from connections.browser_flows import needs_own_oauth_app
from infrastructure.errors import DomainError
from lifecycle.dashboard import service_auths_by_status
from lifecycle.grant_reviews import grant_fields_of, grants_review
from pages.admin_display import AUTHS, badge, changelist, truncated
from services.admin_forms import (
    SCHEMES,
    CustomServiceForm,
    create_from_connector_url,
    custom_service_fieldsets,
    scheme_for_request,
    template_for_request,
)
from services.custom_services import custom_service_delete, custom_service_transfer
from services.icons import service_icon_html
from services.models import Service, ServiceSource
from services.notices import service_warnings
from services.rules import require_may_manage_custom_service
from services.selectors import connector_list, own_oauth_apps_of_connector
from services.validation import DEFINITION_FIELDS, definition_validate
from workspaces.admin_scoping import DomainFormAdmin, admin_actor
from workspaces.models import Membership
from workspaces.selectors import owned_organization_ids

JSON_FIELDS = [
    f for f in DEFINITION_FIELDS if Service._meta.get_field(f).get_internal_type() == "JSONField"
]

FIELDSETS = [
    ("Identity", ["name", "slug", "icon", "description", "documentation_url"]),
    (
        "Auth scheme",
        ["auth_scheme", "grant_type", "pkce", "discouraged_acknowledged"],
    ),
    (
        "OAuth",
        [
            "authorize_url",
            "token_url",
            "refresh_url",
            "revoke_url",
            "request_token_url",
            "issuer",
            "scopes_available",
            "scopes_default",
            "scope_separator",
            "authorize_params",
            "token_params",
            "refresh_params",
            "client_auth_method",
            "client_id",
        ],
    ),
    (
        "Calling the API",
        [
            "base_url",
            "credential_placement",
            "credential_header_name",
            "credential_prefix",
            "credential_query_param",
            "test_path",
            "parameters",
        ],
    ),
    (
        "Token responses",
        [
            "default_token_lifetime",
            "token_path",
            "token_response_parameters",
            "expired_status_codes",
            "rotates_refresh_tokens",
            "refresh_lead_seconds",
        ],
    ),
    (
        "Umbrella application",
        [
            "umbrella_status",
            "access_token_lifetime",
            "refresh_token_max_age",
            "refresh_token_idle_timeout",
            "test_refresh_token_lifetime",
            "test_exempt_scopes",
        ],
    ),
]


def _definition(cleaned_data: dict) -> dict:
    values = {f: cleaned_data[f] for f in DEFINITION_FIELDS if f in cleaned_data}
    for field in JSON_FIELDS:
        if values.get(field) is None:
            values[field] = Service._meta.get_field(field).get_default()
    for field in ("scope_separator",):
        if values.get(field) is None:
            values[field] = " "
    return values


def _formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    if db_field.name == "scope_separator":
        kwargs["strip"] = False  # " " is the usual separator, not blank to strip
    return db_field.formfield(**kwargs)


def _warn_stranded(request, warning: dict | None) -> None:
    if warning:
        messages.warning(request, warning["message"])


class ConnectorForm(forms.ModelForm):
    """Superusers only; the catalog files win on the next load."""

    class Meta:
        model = Service
        fields = list(DEFINITION_FIELDS)
        formfield_callback = _formfield

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                definition_validate(
                    values=_definition(cleaned), require_client=False, check_hosts=False
                )
            except DomainError as error:
                field = error.field if error.field in self.fields else None
                self.add_error(field, error.message)
        return cleaned


@admin.register(Service)
class ServiceAdmin(DomainFormAdmin):
    list_display = ["name", "source", "organization", "owner", "auth_scheme", "notices"]
    list_filter = [
        "source",
        "auth_scheme",
        "umbrella_status",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("workspace", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "slug"]
    actions = ["transfer_ownership"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "warnings",
            "client_secret_status",
            "source",
            "owner",
            "workspace",
            "auths_by_status",
            "icon_image",
        ]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Whose auths its page counts: the viewer's organizations (None: a superuser, all).
            obj.viewer_organization_ids = (
                None if request.user.is_superuser else owned_organization_ids(request.user)
            )
        return obj

    @admin.display(description="Authentications, by status")
    def auths_by_status(self, obj):
        rows = service_auths_by_status(
            service=obj, organization_ids=getattr(obj, "viewer_organization_ids", [])
        )
        if not any(row["count"] for row in rows):
            return "No authentication uses this service yet."
        cells = (
            (changelist(AUTHS, row["filters"]), row["count"], badge(row["status"]))
            for row in rows
            if row["count"]
        )
        return format_html_join(" ", '<a href="{}"><strong>{}</strong> {}</a>', cells)

    @admin.action(description="Transfer ownership of the selected custom services")
    def transfer_ownership(self, request, queryset):
        return transfer_ownership_action(self, request, queryset)

    def get_queryset(self, request):
        queryset = Service.objects.exclude(source=ServiceSource.GENERIC).select_related(
            "organization__service_account", "owner", "workspace"
        )
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            Q(source=ServiceSource.CONNECTOR)
            | Q(organization__in=owned_organization_ids(request.user))
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        if db_field.name == "scope_separator":
            kwargs["strip"] = False  # " " is the usual separator, not blank to strip
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @staticmethod
    def _is_connector(obj) -> bool:
        return obj is not None and obj.source == ServiceSource.CONNECTOR

    def has_change_permission(self, request, obj=None):
        if self._is_connector(obj) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._is_connector(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self._is_connector(obj):
            kwargs["form"] = ConnectorForm
            kwargs["fields"] = list(DEFINITION_FIELDS)
            return admin.ModelAdmin.get_form(self, request, obj, change, **kwargs)
        connector = template_for_request(request) if obj is None else None
        scheme = scheme_for_request(request, obj, connector) or SCHEMES["authorization_code"]
        kwargs["form"] = type(
            "CustomServiceForm", (CustomServiceForm,), {"scheme": scheme, "connector": connector}
        )
        kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        """Reserve the new service's id in the address (…/add/?reserved_id=<uuid>), so the redirect
        URI shown on the form stays the same when the page is reloaded or comes back with errors.
        Then ask for the sign-in method, unless the address (?scheme=…, ?template=<connector>) or
        the posted form says it."""
        if request.method == "GET" and "reserved_id" not in request.GET:
            query = {**request.GET.dict(), "reserved_id": str(uuid.uuid4())}
            return HttpResponseRedirect(f"{request.path}?{urlencode(query)}")
        connector = template_for_request(request)
        if scheme_for_request(request, None, connector) is None:
            return self.choose_scheme_view(request)
        if connector is not None:
            extra_context = {**(extra_context or {}), "connector": connector}
        return super().add_view(request, form_url, extra_context)

    def choose_scheme_view(self, request):
        """Step one of adding a custom service: the sign-in method, or a connector to start from.
        Plain links, so it works without JavaScript."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        reserved = request.GET.get("reserved_id", "")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Add a custom service: how do people sign in?",
            "schemes": [
                (scheme, f"?{urlencode({'reserved_id': reserved, 'scheme': scheme.key})}")
                for scheme in SCHEMES.values()
            ],
            "connectors": [
                (connector, f"?{urlencode({'reserved_id': reserved, 'template': connector.slug})}")
                for connector in connector_list(search=None)
                if needs_own_oauth_app(connector)
            ],
        }
        return TemplateResponse(request, "admin/services/service/choose_scheme.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if self._is_connector(obj) and needs_own_oauth_app(obj):
            extra_context = {
                **(extra_context or {}),
                "connector": obj,
                "own_apps": own_oauth_apps_of_connector(
                    connector=obj, organization_ids=owned_organization_ids(request.user)
                ),
                "create_from_connector_url": create_from_connector_url(obj),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        if obj is None or not self._is_connector(obj):
            connector = template_for_request(request) if obj is None else None
            scheme = scheme_for_request(request, obj, connector) or SCHEMES["authorization_code"]
            sets = custom_service_fieldsets(scheme=scheme, adding=obj is None)
            if obj is not None:
                sets.insert(
                    0, ("Notices", {"fields": ["warnings", "source", "owner", "workspace"]})
                )
                sets.insert(1, ("Authentications", {"fields": ["auths_by_status"]}))
                for title, options in sets:
                    if title == "Your OAuth app" and "client_id" in options["fields"]:
                        options["fields"] = ["client_secret_status", *options["fields"]]
            return sets
        sets = [(title, {"fields": fields}) for title, fields in FIELDSETS]
        # The icon as the image this platform serves; its address (another host) only for the
        # superusers who may correct it.
        identity = [f for f in FIELDSETS[0][1] if f != "icon" or request.user.is_superuser]
        sets[0] = ("Identity", {"fields": ["icon_image", *identity]})
        sets.insert(0, ("Notices", {"fields": ["warnings", "source", "owner", "workspace"]}))
        sets.insert(1, ("Authentications", {"fields": ["auths_by_status"]}))
        sets.append(("Client secret", {"fields": ["client_secret_status"]}))
        return sets

    def save_form(self, request, form, change):
        if isinstance(form, ConnectorForm):
            return form.save(commit=False)
        return super().save_form(request, form, change)

    def save_model(self, request, obj, form, change):
        if isinstance(form, ConnectorForm):
            before = grant_fields_of(Service.objects.get(pk=obj.pk))
            obj.save()
            _warn_stranded(
                request,
                grants_review(service=obj, before=before, edited_by=request.user.email),
            )

    def delete_check(self, request, obj):
        require_may_manage_custom_service(
            actor=admin_actor(request, obj.organization), service=obj, action="delete"
        )

    def delete_model(self, request, obj):
        custom_service_delete(actor=admin_actor(request, obj.organization), service=obj)

    @admin.display(description="Warnings")
    def warnings(self, obj):
        items = service_warnings(service=obj)
        if not items:
            return "None"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li><strong>{}</strong>: {}</li>", ((w["code"], w["message"]) for w in items)
            ),
        )

    @admin.display(description="Notices")
    def notices(self, obj):
        return truncated(", ".join(w["code"] for w in service_warnings(service=obj)))

    @admin.display(description="Icon")
    def icon_image(self, obj):
        return service_icon_html(obj, size=32)

    @admin.display(description="Client secret")
    def client_secret_status(self, obj):
        return "set (hidden)" if obj.client_secret is not None else "not set"


# --- transfer of ownership (the same domain function as the API's transfer-ownership) ---------


class TransferOwnershipForm(forms.Form):
    SERVICE_ACCOUNT = "service_account"
    new_owner = forms.ChoiceField(
        label="New owner",
        help_text="An active member of the organization who is not a viewer, or the "
        "organization's service account (recommended: it does not leave).",
    )

    def __init__(self, *args, memberships, has_service_account, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(m.pk), f"{m.user.email} ({m.get_role_display()})") for m in memberships]
        if has_service_account:
            choices.insert(0, (self.SERVICE_ACCOUNT, "The organization's service account"))
        self.fields["new_owner"].choices = [("", "Choose…"), *choices]


def transfer_ownership_action(model_admin, request, queryset):
    """An admin action with a confirmation page: choose the new owner, then each selected custom
    service is transferred by custom_service_transfer (refusals are shown, one per service)."""
    services = list(queryset.select_related("organization", "owner"))
    custom = [s for s in services if s.source == ServiceSource.CUSTOM]
    if len(custom) != len(services):
        model_admin.message_user(
            request,
            "Only custom services have an owner to transfer; connectors belong to the platform.",
            messages.ERROR,
        )
        return None
    organizations = {s.organization_id for s in custom}
    if len(organizations) != 1:
        model_admin.message_user(
            request, "Choose custom services of one organization at a time.", messages.ERROR
        )
        return None
    organization = custom[0].organization
    memberships = (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("user__email")
    )
    form = TransferOwnershipForm(
        request.POST if "apply" in request.POST else None,
        memberships=memberships,
        has_service_account=organization.service_account_id is not None,
    )
    if form.is_bound and form.is_valid():
        choice = form.cleaned_data["new_owner"]
        to_account = choice == TransferOwnershipForm.SERVICE_ACCOUNT
        new_owner = None if to_account else memberships.get(pk=choice)
        for service in custom:
            try:
                moved = custom_service_transfer(
                    actor=admin_actor(request, organization),
                    service=service,
                    new_owner=new_owner,
                    to_service_account=to_account,
                )
            except DomainError as error:
                model_admin.message_user(request, f"{service}: {error.message}", messages.ERROR)
            else:
                model_admin.message_user(
                    request, f"{service}: now owned by {moved.owner.email}.", messages.SUCCESS
                )
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Transfer ownership",
        "services": custom,
        "organization": organization,
        "form": form,
        "opts": model_admin.model._meta,
        "action_name": "transfer_ownership",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/services/service/transfer_ownership.html", context)
