"""OAuth 2.0 password grant (discouraged): exchanged server-side; the password is used once and
never stored."""

from auths.models import Authentication
from auths.parameters import parameters_validate
from auths.tokens import token_response_apply
from connections.connection import (
    Target,
    connection_save,
    new_connection_target,
    require_scheme,
    server_side_exchange,
)
from infrastructure.errors import RuleViolation
from services.models import AuthScheme, GrantType, Service
from workspaces.access import Actor
from workspaces.models import Workspace


def password_connect(
    *,
    actor: Actor,
    target: Target,
    username: str,
    password: str,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
) -> Authentication:
    service = target.service
    require_scheme(service, AuthScheme.OAUTH2, (GrantType.PASSWORD,))
    if not username or not password:
        raise RuleViolation(
            "Give the account's username and password.",
            field="username" if not username else "password",
        )
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    scopes = target.scopes(scopes)
    data = {"grant_type": "password", "username": username, "password": password}
    if scopes:
        data["scope"] = (service.scope_separator or " ").join(scopes)
    response = server_side_exchange(
        actor=actor, service=service, values=values, data=data, scrub=(password,)
    )

    def apply(auth):
        auth.username = username
        auth.password = None
        auth.scopes = scopes
        token_response_apply(authentication=auth, token_response=response)

    return connection_save(
        actor=actor, target=target, values=values, apply=apply, token_response=response
    )


def authentication_create_password(
    *,
    actor: Actor,
    service: Service,
    workspace: Workspace | None = None,
    name: str = "",
    username: str,
    password: str,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
) -> Authentication:
    target = new_connection_target(actor=actor, service=service, workspace=workspace, name=name)
    return password_connect(
        actor=actor,
        target=target,
        username=username,
        password=password,
        scopes=scopes,
        parameters=parameters,
    )
