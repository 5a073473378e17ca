"""Saving a connection: the one place where the credentials of a new authentication, or of one
re-authenticated in place, are written. Every flow (token_auth, client_credentials,
password_grant, authorization_code, oauth1) prepares a Target, checks its inputs, talks to the
provider, and hands `connection_save` a function that writes the credentials it obtained.

Who may do what:
- create: anyone who may create assets in the target workspace (require_asset_creation);
- use and read: anyone who can see the workspace (auths/selectors.py);
- rename, move, re-authenticate, disable, delete: the authentication's owner, or an admin of its
  workspace (org owners and admins are admins of every workspace).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from auths.grants import grant_of
from auths.models import Authentication
from auths.parameters import ParameterValues
from auths.tokens import TokenError, TokenResponse, service_url, token_request
from infrastructure import egress
from infrastructure.errors import NotAllowed, NotFound, RuleViolation, UpstreamError
from infrastructure.text import name_check, single_line
from lifecycle import state
from services.models import Service
from services.notices import discouraged_scheme_warning
from workspaces.access import Actor, asset_workspace, require_asset_creation, workspace_role
from workspaces.models import Workspace, WorkspaceRole


def authentication_warnings(auth_or_service) -> list[str]:
    service = getattr(auth_or_service, "service", auth_or_service)
    warning = discouraged_scheme_warning(
        auth_scheme=service.auth_scheme, grant_type=service.grant_type
    )
    return [warning] if warning else []


def require_manage(*, actor: Actor, authentication: Authentication, action: str) -> None:
    role = workspace_role(actor=actor, workspace=authentication.workspace)
    if role is None:
        raise NotFound("Authentication not found.")
    is_owner = (
        actor.membership is not None and authentication.owner_id == actor.membership.pk
    ) or (actor.end_user is not None and authentication.end_user_id == actor.end_user.pk)
    if not is_owner and role != WorkspaceRole.ADMIN:
        raise NotAllowed(
            f"Only the authentication's owner or an admin of workspace "
            f"'{authentication.workspace.name}' can {action} it."
        )


def require_scheme(service: Service, scheme: str, grants: tuple[str, ...] = ()) -> None:
    if service.auth_scheme != scheme or (grants and (service.grant_type or "") not in grants):
        wanted = scheme + (f" ({'/'.join(g for g in grants if g)})" if grants else "")
        raise RuleViolation(
            f"{service.name} uses {service.get_auth_scheme_display()}"
            + (f" with the {service.grant_type} grant" if service.grant_type else "")
            + f"; this flow is for {wanted} services.",
            field="service",
        )


def scopes_checked(service: Service, scopes: list[str] | None) -> list[str]:
    """The scopes asked for (the service's defaults when none), each one offered by the service."""
    scopes = [s for s in (scopes or service.scopes_default or []) if s]
    available = service.scopes_available or []
    if available:
        unknown = [s for s in scopes if s not in available]
        if unknown:
            raise RuleViolation(
                f"Scope '{unknown[0]}' is not offered by {service.name} "
                f"(available: {', '.join(available)}).",
                field="scopes",
            )
    return scopes


def _clean_name(name: str | None, service: Service, actor: Actor) -> str:
    name = name_check((name or "").strip(), what="An authentication's name")
    if not name:
        if actor.user:
            who = f" ({actor.user.email})"
        elif actor.end_user:
            who = f" ({actor.end_user.external_user_id})"
        else:
            who = ""
        # A default name is ours to make fit: never refuse a name the person did not give.
        name = single_line(f"{service.name}{who}")[:200]
    if len(name) > 200:
        raise RuleViolation("Use a name of at most 200 characters.", field="name")
    return name


@dataclass(frozen=True)
class Target:
    """Where a connection is saved: a new authentication (`existing` None) or an existing one
    re-authenticated in place (it keeps its id, name and workspace)."""

    service: Service
    workspace: Workspace
    name: str
    existing: Authentication | None = None

    @property
    def previous_values(self) -> ParameterValues | None:
        return ParameterValues.of(self.existing) if self.existing is not None else None

    def scopes(self, asked: list[str] | None) -> list[str]:
        """The scopes asked for; when re-authenticating without asking, the auth's own."""
        if asked is None and self.existing is not None:
            asked = self.existing.scopes
        return scopes_checked(self.service, asked)


def new_connection_target(
    *, actor: Actor, service: Service, workspace: Workspace | None = None, name: str = ""
) -> Target:
    """The preamble of every creation: the workspace (default: the actor's), the right to create
    there, and a name."""
    workspace = asset_workspace(actor=actor, workspace=workspace)
    require_asset_creation(actor=actor, workspace=workspace)
    return Target(service=service, workspace=workspace, name=_clean_name(name, service, actor))


def reauthentication_target(*, actor: Actor, authentication: Authentication) -> Target:
    require_manage(actor=actor, authentication=authentication, action="re-authenticate")
    return Target(
        service=authentication.service,
        workspace=authentication.workspace,
        name=authentication.name,
        existing=authentication,
    )


def connection_save(
    *,
    actor: Actor,
    target: Target,
    values: ParameterValues,
    apply: Callable[[Authentication], None],
    token_response: TokenResponse | None = None,
    message: str = "",
) -> Authentication:
    """Create the authentication, or re-authenticate it in place under its row lock (so a
    concurrent refresh cannot interleave). `apply` writes the new credentials; the lifecycle
    (status, schedule, prediction, events) follows in the same transaction. `message` replaces
    the event's default one ("Connected to <service> by <actor>")."""
    with transaction.atomic():
        if target.existing is not None:
            auth = (
                Authentication.objects.select_for_update(of=("self",))
                .select_related("service", "organization", "workspace")
                .get(pk=target.existing.pk)
            )
            auth.version += 1
        else:
            auth = Authentication(
                organization=actor.organization,
                workspace=target.workspace,
                service=target.service,
                owner=actor.membership,
                end_user=actor.end_user,
                name=target.name,
                created_by=actor.user,
            )
        auth.parameters = values.public
        auth.secret_parameters = values.sealed_secret()
        apply(auth)
        # After apply(): a token response may add parameters its URLs use (an instance URL).
        auth.grant = grant_of(
            service=auth.service,
            values=ParameterValues(public=auth.parameters, secret=values.secret),
        )
        auth.consented_at = timezone.now()
        if target.existing is not None:
            auth.save(update_fields=[*Authentication.CREDENTIAL_FIELDS, "version", "updated_at"])
        else:
            auth.save()
        reauthorized = target.existing is not None
        state.connection_recorded(
            authentication=auth,
            token_response=token_response,
            reauthorized=reauthorized,
            message=message
            or (
                f"{'Re-authenticated with' if reauthorized else 'Connected to'} "
                f"{auth.service.name} by {actor.label}."
            ),
        )
    return auth


def server_side_exchange(
    *, actor: Actor, service: Service, values: ParameterValues, data: dict, scrub=()
) -> TokenResponse:
    """A grant exchanged at the token URL by the platform itself (client credentials, password):
    the provider's refusal and an unreachable token URL become errors a person can act on."""
    try:
        return token_request(
            service=service,
            policy=egress.EgressPolicy.for_organization(actor.organization),
            url=service_url(service=service, values=values, attribute="token_url"),
            data={**data, **(service.token_params or {})},
            values=values,
            scrub=scrub,
        )
    except TokenError as error:
        raise UpstreamError(
            f"{service.name} did not issue a token: {error.description}", code="upstream_error"
        ) from None
    except egress.EgressRefused as error:
        raise RuleViolation(f"The token URL is not reachable: {error}", field="service") from None
