"""Authentications: create (token, generic, client credentials, password; the browser flows live in
auths/oauth.py), rename, move between workspaces, re-authenticate in place, delete (revoking at the
provider when the service has a revoke URL).

Who may do what:
- create: anyone who may create assets in the target workspace (require_asset_creation);
- use and read: anyone who can see the workspace (auths/selectors.py);
- rename, move, re-authenticate, delete: the authentication's owner, or an admin of its workspace
  (org owners and admins are admins of every workspace).
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from auths import egress, lifecycle_hooks
from auths.events import event_record
from auths.models import Authentication, AuthStatus, EventKind
from auths.parameters import ParameterValues, parameters_validate
from auths.tokens import (
    TokenError,
    TokenResponse,
    service_url,
    token_request,
    token_response_apply,
    token_revoke,
)
from services.custom_services import generic_definition_create
from services.models import (
    AuthScheme,
    CredentialPlacement,
    GrantType,
    Service,
    ServiceSource,
)
from workspaces.access import Actor, require_asset_creation, workspace_role
from workspaces.errors import NotAllowed, NotFound, RuleViolation
from workspaces.models import Workspace, WorkspaceKind, WorkspaceRole

DISCOURAGED_WARNINGS = {
    "password": (
        "The OAuth 2.0 password grant is discouraged (RFC 9700 §2.4: it MUST NOT be used): the "
        "platform handles the person's password. Prefer the authorization code flow."
    ),
    "oauth1": (
        "OAuth 1.0a is discouraged: it is superseded by OAuth 2.0. Use it only for providers that "
        "offer nothing else."
    ),
}


class UpstreamError(RuleViolation):
    """The provider did not give usable credentials; the message says why (no secrets)."""

    status_code = 502
    code = "upstream_error"


def authentication_warnings(auth_or_service) -> list[str]:
    service = getattr(auth_or_service, "service", auth_or_service)
    if service.auth_scheme == AuthScheme.OAUTH1:
        return [DISCOURAGED_WARNINGS["oauth1"]]
    if service.auth_scheme == AuthScheme.OAUTH2 and service.grant_type == GrantType.PASSWORD:
        return [DISCOURAGED_WARNINGS["password"]]
    return []


# --- checks ------------------------------------------------------------------------------------


def require_manage(*, actor: Actor, authentication: Authentication, action: str) -> None:
    role = workspace_role(actor=actor, workspace=authentication.workspace)
    if role is None:
        raise NotFound("Authentication not found.")
    is_owner = actor.membership is not None and authentication.owner_id == actor.membership.pk
    if not is_owner and role != WorkspaceRole.ADMIN:
        raise NotAllowed(
            f"Only the authentication's owner or an admin of workspace "
            f"'{authentication.workspace.name}' can {action} it."
        )


def default_workspace(*, actor: Actor, workspace: Workspace | None) -> Workspace:
    if workspace is not None:
        if workspace.organization_id != actor.organization.pk:
            raise NotFound("Workspace not found.", field="workspace")
        return workspace
    if actor.membership is None:
        raise RuleViolation(
            "Choose the workspace for the authentication (an organization API key has no personal "
            "workspace).",
            field="workspace",
        )
    return Workspace.objects.get(
        organization=actor.organization,
        kind=WorkspaceKind.PERSONAL,
        personal_owner=actor.membership,
    )


def _clean_name(name: str | None, service: Service, actor: Actor) -> str:
    name = (name or "").strip()
    if not name:
        who = f" ({actor.user.email})" if actor.user else ""
        name = f"{service.name}{who}"
    if len(name) > 200:
        raise RuleViolation("Use a name of at most 200 characters.", field="name")
    return name


def _require_scheme(service: Service, scheme: str, grants: tuple[str, ...] = ()) -> None:
    if service.auth_scheme != scheme or (grants and (service.grant_type or "") not in grants):
        wanted = scheme + (f" ({'/'.join(g for g in grants if g)})" if grants else "")
        raise RuleViolation(
            f"{service.name} uses {service.get_auth_scheme_display()}"
            + (f" with the {service.grant_type} grant" if service.grant_type else "")
            + f"; this flow is for {wanted} services.",
            field="service",
        )


def _scopes(service: Service, scopes: list[str] | None) -> list[str]:
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


def _policy(organization) -> egress.EgressPolicy:
    return egress.EgressPolicy.for_organization(organization)


# --- saving a connection ---------------------------------------------------------------------


def connection_save(
    *,
    actor: Actor | None,
    created_by,
    existing_id=None,
    organization=None,
    workspace: Workspace | None = None,
    service: Service | None = None,
    owner=None,
    name: str = "",
    values: ParameterValues,
    apply: Callable[[Authentication], None],
    token_response: TokenResponse | None = None,
) -> Authentication:
    """Create an authentication, or re-authenticate one in place (it keeps its id), under its row
    lock so that a concurrent refresh cannot interleave. `apply` writes the new credentials."""
    now = timezone.now()
    with transaction.atomic():
        if existing_id is not None:
            auth = (
                Authentication.objects.select_for_update(of=("self",))
                .select_related("service", "organization", "workspace")
                .get(pk=existing_id)
            )
            auth.version += 1
        else:
            auth = Authentication(
                organization=organization,
                workspace=workspace,
                service=service,
                owner=owner,
                name=name,
                created_by=created_by,
            )
        auth.parameters = values.public
        auth.secret_parameters = values.sealed_secret()
        apply(auth)
        auth.status = AuthStatus.ACTIVE
        auth.status_reason = ""
        auth.refresh_failures = 0
        auth.last_refresh_error = ""
        auth.consented_at = now
        auth.save()
        reauthorized = existing_id is not None
        event_record(
            authentication=auth,
            kind=EventKind.REAUTHORIZED if reauthorized else EventKind.CREATED,
            message=(
                f"{'Re-authenticated with' if reauthorized else 'Connected to'} "
                f"{auth.service.name}" + (f" by {actor.label}." if actor else ".")
            ),
            data=token_response.summary() if token_response else {},
        )
    lifecycle_hooks.after_connect(auth, token_response, reauthorized=reauthorized)
    return auth


def _target(*, actor, service, workspace, authentication, name):
    """Common preamble: (service, workspace, name, existing values) for create or re-auth."""
    if authentication is not None:
        require_manage(actor=actor, authentication=authentication, action="re-authenticate")
        return (
            authentication.service,
            authentication.workspace,
            authentication.name,
            ParameterValues.of(authentication),
        )
    workspace = default_workspace(actor=actor, workspace=workspace)
    require_asset_creation(actor=actor, workspace=workspace)
    return service, workspace, _clean_name(name, service, actor), None


def _save(*, actor, authentication, service, workspace, name, values, apply, token_response=None):
    return connection_save(
        actor=actor,
        created_by=actor.user,
        existing_id=authentication.pk if authentication is not None else None,
        organization=actor.organization,
        workspace=workspace,
        service=service,
        owner=actor.membership,
        name=name,
        values=values,
        apply=apply,
        token_response=token_response,
    )


# --- token auth ----------------------------------------------------------------------------------


def _token_credentials(service: Service, credentials: dict) -> dict:
    credentials = {k: (v or "").strip() for k, v in (credentials or {}).items() if v is not None}
    api_key = credentials.get("api_key") or credentials.get("token") or ""
    username = credentials.get("username", "")
    password = credentials.get("password", "")
    unknown = sorted(set(credentials) - {"api_key", "token", "username", "password"})
    if unknown:
        raise RuleViolation(
            f"'{unknown[0]}' is not a credential field; use api_key (or token), username, password.",
            field=f"credentials.{unknown[0]}",
        )
    if service.credential_placement == CredentialPlacement.BASIC:
        if not (username or api_key):
            raise RuleViolation(
                f"{service.name} takes HTTP Basic credentials: give a username and a password "
                "(or an api_key used as the username).",
                field="credentials.username",
            )
    elif not api_key:
        raise RuleViolation(
            f"{service.name} takes an API key or token: give it as credentials.api_key.",
            field="credentials.api_key",
        )
    return {"api_key": api_key, "username": username, "password": password}


def authentication_create_token(
    *,
    actor: Actor,
    service: Service | None = None,
    workspace: Workspace | None = None,
    name: str = "",
    credentials: dict,
    parameters: dict | None = None,
    authentication: Authentication | None = None,
) -> Authentication:
    """An API key, bearer token or basic credentials, stored encrypted; or re-authenticate one."""
    service, workspace, name, existing = _target(
        actor=actor,
        service=service,
        workspace=workspace,
        authentication=authentication,
        name=name,
    )
    _require_scheme(service, AuthScheme.TOKEN)
    values = parameters_validate(service=service, values=parameters, existing=existing)
    secret = _token_credentials(service, credentials)

    def apply(auth):
        auth.api_key = secret["api_key"]
        auth.username = secret["username"]
        auth.password = secret["password"]
        auth.token_type = service.credential_placement

    return _save(
        actor=actor,
        authentication=authentication,
        service=service,
        workspace=workspace,
        name=name,
        values=values,
        apply=apply,
    )


def authentication_create_generic(
    *,
    actor: Actor,
    workspace: Workspace | None = None,
    name: str = "",
    definition: dict,
    credentials: dict,
) -> Authentication:
    """A token authentication for a service not in the catalog, defined inline: a Service with
    source="generic" is created with it (and deleted with it)."""
    workspace = default_workspace(actor=actor, workspace=workspace)
    require_asset_creation(actor=actor, workspace=workspace)
    with transaction.atomic():
        # One set of rules for definitions: the services app validates this one too (https,
        # hosts, placeholders, token-only).
        service = generic_definition_create(
            actor=actor,
            definition={"name": name or "Generic service", **(definition or {})},
            workspace=workspace,
        )
        return authentication_create_token(
            actor=actor,
            service=service,
            workspace=workspace,
            name=name or service.name,
            credentials=credentials,
        )


# --- server-side OAuth 2.0 grants ------------------------------------------------------------


def _exchange(*, service, actor, values, data, scrub=()) -> TokenResponse:
    try:
        return token_request(
            service=service,
            policy=_policy(actor.organization),
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


def authentication_create_client_credentials(
    *,
    actor: Actor,
    service: Service | None = None,
    workspace: Workspace | None = None,
    name: str = "",
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    authentication: Authentication | None = None,
) -> Authentication:
    """OAuth 2.0 client credentials: the token is fetched server-side (and re-fetched on refresh)."""
    service, workspace, name, existing = _target(
        actor=actor,
        service=service,
        workspace=workspace,
        authentication=authentication,
        name=name,
    )
    _require_scheme(service, AuthScheme.OAUTH2, (GrantType.CLIENT_CREDENTIALS,))
    values = parameters_validate(service=service, values=parameters, existing=existing)
    scopes = _scopes(
        service, scopes if scopes is not None else (existing and authentication.scopes)
    )
    data = {"grant_type": "client_credentials"}
    if scopes:
        data["scope"] = (service.scope_separator or " ").join(scopes)
    response = _exchange(service=service, actor=actor, values=values, data=data)

    def apply(auth):
        auth.scopes = scopes
        token_response_apply(authentication=auth, token_response=response)

    return _save(
        actor=actor,
        authentication=authentication,
        service=service,
        workspace=workspace,
        name=name,
        values=values,
        apply=apply,
        token_response=response,
    )


def authentication_create_password(
    *,
    actor: Actor,
    service: Service | None = None,
    workspace: Workspace | None = None,
    name: str = "",
    username: str,
    password: str,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
    authentication: Authentication | None = None,
) -> Authentication:
    """OAuth 2.0 password grant (discouraged): exchanged server-side; the password is used once and
    never stored."""
    service, workspace, name, existing = _target(
        actor=actor,
        service=service,
        workspace=workspace,
        authentication=authentication,
        name=name,
    )
    _require_scheme(service, AuthScheme.OAUTH2, (GrantType.PASSWORD,))
    if not username or not password:
        raise RuleViolation(
            "Give the account's username and password.",
            field="username" if not username else "password",
        )
    values = parameters_validate(service=service, values=parameters, existing=existing)
    scopes = _scopes(
        service, scopes if scopes is not None else (existing and authentication.scopes)
    )
    data = {"grant_type": "password", "username": username, "password": password}
    if scopes:
        data["scope"] = (service.scope_separator or " ").join(scopes)
    response = _exchange(service=service, actor=actor, values=values, data=data, scrub=(password,))

    def apply(auth):
        auth.username = username
        auth.password = None
        auth.scopes = scopes
        token_response_apply(authentication=auth, token_response=response)

    return _save(
        actor=actor,
        authentication=authentication,
        service=service,
        workspace=workspace,
        name=name,
        values=values,
        apply=apply,
        token_response=response,
    )


# --- rename, move, delete, re-authenticate --------------------------------------------------------


def authentication_rename(*, actor: Actor, authentication: Authentication, name: str):
    require_manage(actor=actor, authentication=authentication, action="rename")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise RuleViolation("Give a name of 1 to 200 characters.", field="name")
    authentication.name = name
    authentication.save(update_fields=["name", "updated_at"])
    return authentication


def authentication_move(*, actor: Actor, authentication: Authentication, workspace: Workspace):
    """Move to another workspace of the organization: the actor must manage the authentication and
    be allowed to create assets in the target workspace."""
    require_manage(actor=actor, authentication=authentication, action="move")
    if workspace.organization_id != actor.organization.pk:
        raise NotFound("Workspace not found.", field="workspace")
    require_asset_creation(actor=actor, workspace=workspace)
    if authentication.service.source == ServiceSource.GENERIC:
        Service.objects.filter(pk=authentication.service_id).update(workspace=workspace)
    authentication.workspace = workspace
    authentication.save(update_fields=["workspace", "updated_at"])
    return authentication


def _revoke(authentication: Authentication) -> tuple[bool, str]:
    """RFC 7009 revocation of the refresh token (else the access token). Returns (revoked, error)."""
    service = authentication.service
    if not service.revoke_url or service.auth_scheme != AuthScheme.OAUTH2:
        return False, ""
    sealed = authentication.refresh_token or authentication.access_token
    if sealed is None:
        return False, ""
    hint = "refresh_token" if authentication.refresh_token else "access_token"
    values = ParameterValues.of(authentication)
    try:
        token_revoke(
            service=service,
            policy=_policy(authentication.organization),
            url=service_url(service=service, values=values, attribute="revoke_url"),
            token=sealed.reveal(),
            hint=hint,
            values=values,
        )
    except TokenError as error:
        return False, error.description
    except egress.EgressRefused as error:
        return False, str(error)
    return True, ""


def authentication_delete(*, actor: Actor, authentication: Authentication) -> dict:
    """Delete, revoking the grant at the provider first when the service has a revoke URL. A
    failed revocation does not keep the authentication; the result and the event say so."""
    require_manage(actor=actor, authentication=authentication, action="delete")
    revoked, revocation_error = _revoke(authentication)
    service = authentication.service
    with transaction.atomic():
        message = f"Deleted by {actor.label}."
        if service.revoke_url:
            message += (
                " Revoked at the provider."
                if revoked
                else f" Revocation at the provider failed: {revocation_error}"
            )
        event_record(
            authentication=authentication,
            kind=EventKind.DELETED,
            message=message,
            data={"revoked": revoked},
        )
        authentication.delete()
        if service.source == ServiceSource.GENERIC:
            service.delete()
    return {"revoked": revoked, "revocation_error": revocation_error}


def authentication_reauthenticate(
    *, actor: Actor, authentication: Authentication, inputs: dict, base_url: str
) -> tuple[Authentication | None, dict | None]:
    """Run the authentication's flow again in place (it keeps its id). Returns (authentication,
    None) for server-side flows, or (None, start) for browser flows, where `start` holds the
    authorize URL to send the person to."""
    from auths import oauth  # the browser flows build on this module

    service = authentication.service
    common = {"actor": actor, "authentication": authentication}
    if service.auth_scheme == AuthScheme.TOKEN:
        return authentication_create_token(
            **common,
            credentials=inputs.get("credentials") or {},
            parameters=inputs.get("parameters"),
        ), None
    if (
        service.auth_scheme == AuthScheme.OAUTH2
        and service.grant_type == GrantType.CLIENT_CREDENTIALS
    ):
        return authentication_create_client_credentials(
            **common, scopes=inputs.get("scopes"), parameters=inputs.get("parameters")
        ), None
    if service.auth_scheme == AuthScheme.OAUTH2 and service.grant_type == GrantType.PASSWORD:
        return authentication_create_password(
            **common,
            username=inputs.get("username") or authentication.username,
            password=inputs.get("password") or "",
            scopes=inputs.get("scopes"),
            parameters=inputs.get("parameters"),
        ), None
    start = oauth.oauth_authorization_start(
        **common,
        service=service,
        scopes=inputs.get("scopes"),
        parameters=inputs.get("parameters"),
        base_url=base_url,
    )
    return None, start
