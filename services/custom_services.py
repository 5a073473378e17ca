"""Custom services: create, update, delete, transfer ownership, hand over a leaver's services, and
generic (inline, token-only) service authentication definitions.

Rules live in services/rules.py, definition checks in services/validation.py. The client secret is
plaintext only on its way in: assigning it to the model seals it at once.
"""

import uuid

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from infrastructure.errors import NotAllowed, RuleViolation
from services.models import AuthScheme, GrantType, Service, ServiceSource
from services.rules import (
    require_may_create_custom_service,
    require_may_manage_custom_service,
)
from services.validation import DEFINITION_FIELDS, definition_problems, definition_validate
from workspaces.access import Actor, asset_workspace, require_asset_creation
from workspaces.models import Membership, OrgRole, User, Workspace, WorkspaceKind

GENERIC_REFUSAL = (
    "A generic service authentication is token-based only (API key, bearer token or basic). "
    "OAuth and other multi-step schemes need a custom service: create one under Services "
    "(POST /api/organizations/<organization>/custom-services/) and authenticate with it."
)


def definition_from_service(service: Service) -> dict:
    return {field: getattr(service, field) for field in DEFINITION_FIELDS}


def _defaults() -> dict:
    return {field: Service._meta.get_field(field).get_default() for field in DEFINITION_FIELDS}


def _normalize(values: dict) -> dict:
    values = dict(values)
    if values.get("auth_scheme") == AuthScheme.OAUTH2 and not values.get("grant_type"):
        values["grant_type"] = GrantType.AUTHORIZATION_CODE
    for field in ("name", "slug", "client_id"):
        if isinstance(values.get(field), str):
            values[field] = values[field].strip()
    if not values.get("slug"):
        values["slug"] = slugify(values.get("name") or "")[:80]
    return values


def _require_known_fields(definition: dict) -> None:
    unknown = set(definition) - set(DEFINITION_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise RuleViolation(f"{field}: not a field of a service definition.", field=field)


def _require_free_slug(*, organization, slug: str, exclude=None) -> None:
    if not slug:
        raise RuleViolation(
            "slug: give the service a name or slug with letters or digits.", field="slug"
        )
    taken = Service.objects.filter(
        organization=organization, source=ServiceSource.CUSTOM, slug=slug
    )
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise RuleViolation(
            f"slug: your organization already has a custom service '{slug}'; choose another slug.",
            field="slug",
        )


def service_id_is_free(*, service_id) -> bool:
    """Whether an id can still be reserved for a new custom service. Ids are random UUIDs, so
    asking across organizations tells nothing about anyone's services."""
    return not Service.objects.filter(pk=service_id).exists()


def template_definition(template: Service) -> dict:
    """What a custom service made from a catalog connector starts from ("bring your own OAuth
    app"): the connector's definition without a client id, named for the organization's own app."""
    if template.source != ServiceSource.CONNECTOR:
        raise RuleViolation(
            "template: a custom service can be made only from a catalog connector.",
            field="template",
        )
    return {
        **definition_from_service(template),
        "slug": "",
        "name": f"{template.name} (own OAuth app)",
        "client_id": "",
        "umbrella_status": "unknown",  # the organization's own app: status not known yet
    }


def _new_values(*, definition: dict, template: Service | None) -> dict:
    values = _defaults()
    if template is not None:
        values.update(template_definition(template))
    values.update(definition)
    return _normalize(values)


def custom_service_problems(
    *,
    actor: Actor,
    definition: dict,
    client_secret: str | None = None,
    template: Service | None = None,
    service: Service | None = None,
    clear_client_secret: bool = False,
) -> list[RuleViolation]:
    """Every problem custom_service_create (or, with `service`, custom_service_update) would refuse
    this definition for, without saving: a form that cannot save yet (a value it could not read)
    still shows all the rest at once."""
    _require_known_fields(definition)
    if service is None:
        values = _new_values(definition=definition, template=template)
        has_secret = False
    else:
        values = _normalize({**definition_from_service(service), **definition})
        has_secret = service.client_secret is not None and not clear_client_secret
    return definition_problems(
        values=values,
        organization=actor.organization,
        client_secret=client_secret,
        has_client_secret=has_secret,
    )


@transaction.atomic
def custom_service_create(
    *,
    actor: Actor,
    definition: dict,
    client_secret: str | None = None,
    workspace: Workspace | None = None,
    template: Service | None = None,
    service_id: uuid.UUID | None = None,
) -> Service:
    """Create a custom service within the rules. With `template` (a catalog connector) this is
    "bring your own OAuth app": the connector's definition with the organization's own client id
    and secret, and any overrides given in `definition`.

    `service_id` is an id reserved before the service exists (the add forms of the admin and the
    pages make one, an API client may choose its own UUID): the OAuth redirect URI contains the
    service's id (connections/browser_flows.py: oauth_redirect_uri), and a builder registers it
    with the provider before they have the client id this form asks for."""
    _require_known_fields(definition)
    if service_id is not None and not service_id_is_free(service_id=service_id):
        raise RuleViolation(
            "id: this service id is already used. Open the form again for a new id (and register "
            "its redirect URI with the provider), or leave the id out.",
            field="id",
        )
    workspace = asset_workspace(actor=actor, workspace=workspace)
    require_may_create_custom_service(actor=actor, workspace=workspace)
    values = _new_values(definition=definition, template=template)
    definition_validate(values=values, organization=actor.organization, client_secret=client_secret)
    _require_free_slug(organization=actor.organization, slug=values["slug"])
    service = Service(
        **({"id": service_id} if service_id is not None else {}),
        **values,
        source=ServiceSource.CUSTOM,
        organization=actor.organization,
        workspace=workspace,
        owner=actor.user,
        template=template,
    )
    service.client_secret = client_secret or None
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        # Two creations raced for the same slug (or the same reserved id); the database decided.
        if service_id is not None and Service.objects.filter(pk=service_id).exists():
            raise RuleViolation(
                "id: this service id is already used. Open the form again for a new id.",
                field="id",
            ) from None
        raise RuleViolation(
            f"slug: your organization already has a custom service '{service.slug}'; choose "
            "another slug.",
            field="slug",
        ) from None
    return service


@transaction.atomic
def custom_service_update(
    *,
    actor: Actor,
    service: Service,
    changes: dict,
    client_secret: str | None = None,
    clear_client_secret: bool = False,
) -> Service:
    """Change a custom service's definition. A client secret is replaced only when a new one is
    given (write-only), and removed only on request."""
    require_may_manage_custom_service(actor=actor, service=service, action="edit")
    _require_known_fields(changes)
    service = Service.objects.select_for_update().get(pk=service.pk)
    values = _normalize({**definition_from_service(service), **changes})
    keeps_secret = service.client_secret is not None and not clear_client_secret
    definition_validate(
        values=values,
        organization=actor.organization,
        client_secret=client_secret,
        has_client_secret=keeps_secret,
    )
    _require_free_slug(organization=actor.organization, slug=values["slug"], exclude=service)
    for field, value in values.items():
        setattr(service, field, value)
    if client_secret:
        service.client_secret = client_secret
    elif clear_client_secret:
        service.client_secret = None
    service.save()
    return service


@transaction.atomic
def custom_service_delete(*, actor: Actor, service: Service) -> None:
    require_may_manage_custom_service(actor=actor, service=service, action="delete")
    in_use = service.authentications.count()
    if in_use:
        raise RuleViolation(
            f"'{service.name}' is used by {in_use} authentication(s); delete or move them first."
        )
    service.delete()


def _move(service: Service, *, to: Membership) -> Service:
    """Give the service to another member. A service in a personal workspace moves to the new
    owner's personal workspace, so it keeps living where its owner creates services."""
    service.owner = to.user
    fields = ["owner", "updated_at"]
    if service.workspace.kind == WorkspaceKind.PERSONAL:
        service.workspace = Workspace.objects.get(personal_owner=to)
        fields.append("workspace")
    service.save(update_fields=fields)
    return service


@transaction.atomic
def custom_service_transfer(
    *,
    actor: Actor,
    service: Service,
    new_owner: Membership | None = None,
    to_service_account: bool = False,
) -> Service:
    """Transfer ownership to another active member, or to the organization's service account."""
    require_may_manage_custom_service(actor=actor, service=service, action="transfer")
    organization = actor.organization
    if to_service_account:
        if organization.service_account_id is None:
            raise RuleViolation(
                "The organization has no service account; the organization owner names one in "
                "the organization settings first.",
                field="to_service_account",
            )
        new_owner = Membership.objects.filter(
            organization=organization, user_id=organization.service_account_id
        ).first()
    if new_owner is None:
        raise RuleViolation(
            "Name the member who becomes the owner, or choose the service account.",
            field="membership",
        )
    if new_owner.organization_id != organization.pk or not new_owner.is_active:
        raise RuleViolation(
            "The new owner must be an active member of this organization.", field="membership"
        )
    is_service_account = new_owner.user_id == organization.service_account_id
    if new_owner.role == OrgRole.VIEWER and not is_service_account:
        raise RuleViolation(
            f"{new_owner.user.email} is a viewer and cannot own a custom service; give them the "
            "contributor role first, or transfer it to the service account.",
            field="membership",
        )
    if new_owner.user_id == service.owner_id:
        raise RuleViolation(f"{new_owner.user.email} already owns it.", field="membership")
    service = Service.objects.select_for_update().get(pk=service.pk)
    return _move(service, to=new_owner)


def custom_services_hand_over(*, actor: Actor, membership: Membership) -> None:
    """A deactivation step (workspaces.members.DEACTIVATION_STEPS): a leaver's custom services go
    to the organization's service account; with none set, the deactivation is refused with the
    services named."""
    organization = membership.organization
    owned = list(
        Service.objects.select_for_update(of=("self",))
        .filter(source=ServiceSource.CUSTOM, organization=organization, owner_id=membership.user_id)
        .select_related("workspace")
        .order_by("name")
    )
    if not owned:
        return
    account = None
    if organization.service_account_id is not None:
        account = Membership.objects.filter(
            organization=organization, user_id=organization.service_account_id, is_active=True
        ).first()
    if account is None or account.pk == membership.pk:
        names = ", ".join(f"'{service.name}'" for service in owned)
        raise RuleViolation(
            f"{membership.user.email} owns the custom service(s) {names}. Name a service account "
            "for the organization (they move to it automatically) or transfer them to another "
            "member, then deactivate again.",
            field="membership",
        )
    for service in owned:
        _move(service, to=account)


@transaction.atomic
def generic_definition_create(
    *, actor: Actor, definition: dict, workspace: Workspace | None = None
) -> Service:
    """A token-only service definition made inline for one generic service authentication (base
    URL + where the credential goes), without creating a custom service. Never listed as a
    service. OAuth and any multi-step scheme are refused with a pointer to custom services."""
    _require_known_fields(definition)
    scheme = definition.get("auth_scheme", AuthScheme.TOKEN)
    if scheme != AuthScheme.TOKEN or definition.get("grant_type"):
        raise RuleViolation(GENERIC_REFUSAL, field="auth_scheme", code="use_custom_service")
    for field in ("authorize_url", "token_url", "refresh_url", "request_token_url"):
        if definition.get(field):
            raise RuleViolation(GENERIC_REFUSAL, field=field, code="use_custom_service")
    if workspace is not None:
        require_asset_creation(actor=actor, workspace=workspace)
    elif actor.role == OrgRole.VIEWER:
        raise NotAllowed("Viewers cannot create authentications.")
    values = _normalize({**_defaults(), **definition, "auth_scheme": AuthScheme.TOKEN})
    if not values.get("base_url"):
        raise RuleViolation(
            "base_url: a generic service authentication needs the API's base URL, e.g. "
            "https://api.example.com/v1.",
            field="base_url",
        )
    values["slug"] = values["slug"] or "generic"
    definition_validate(values=values, organization=actor.organization, require_client=False)
    owner: User | None = actor.user
    return Service.objects.create(
        **values,
        source=ServiceSource.GENERIC,
        organization=actor.organization,
        workspace=workspace,
        owner=owner,
    )
