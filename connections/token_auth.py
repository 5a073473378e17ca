"""Token authentication: an API key, a bearer token or HTTP Basic credentials, stored encrypted."""

from auths.models import Authentication
from auths.parameters import parameters_validate
from connections.connection import Target, connection_save, new_connection_target, require_scheme
from infrastructure.errors import RuleViolation
from services.models import AuthScheme, CredentialPlacement, Service
from workspaces.access import Actor
from workspaces.models import Workspace

CREDENTIAL_NAMES = ("api_key", "token", "username", "password")


def _token_credentials(service: Service, credentials: dict) -> dict:
    credentials = {k: (v or "").strip() for k, v in (credentials or {}).items() if v is not None}
    api_key = credentials.get("api_key") or credentials.get("token") or ""
    username = credentials.get("username", "")
    password = credentials.get("password", "")
    unknown = sorted(set(credentials) - set(CREDENTIAL_NAMES))
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


def token_connect(
    *,
    actor: Actor,
    target: Target,
    credentials: dict,
    parameters: dict | None = None,
    message: str = "",
) -> Authentication:
    service = target.service
    require_scheme(service, AuthScheme.TOKEN)
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    secret = _token_credentials(service, credentials)

    def apply(auth):
        auth.api_key = secret["api_key"]
        auth.username = secret["username"]
        auth.password = secret["password"]
        auth.token_type = service.credential_placement

    return connection_save(actor=actor, target=target, values=values, apply=apply, message=message)


def authentication_create_token(
    *,
    actor: Actor,
    service: Service,
    workspace: Workspace | None = None,
    name: str = "",
    credentials: dict,
    parameters: dict | None = None,
) -> Authentication:
    target = new_connection_target(actor=actor, service=service, workspace=workspace, name=name)
    return token_connect(actor=actor, target=target, credentials=credentials, parameters=parameters)
