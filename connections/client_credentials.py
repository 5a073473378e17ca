"""OAuth 2.0 client credentials: the token is fetched server-side (and fetched again on refresh)."""

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
from services.models import AuthScheme, GrantType, Service
from workspaces.access import Actor
from workspaces.models import Workspace


def client_credentials_connect(
    *,
    actor: Actor,
    target: Target,
    scopes: list[str] | None = None,
    parameters: dict | None = None,
) -> Authentication:
    service = target.service
    require_scheme(service, AuthScheme.OAUTH2, (GrantType.CLIENT_CREDENTIALS,))
    values = parameters_validate(
        service=service, values=parameters, existing=target.previous_values
    )
    scopes = target.scopes(scopes)
    data = {"grant_type": "client_credentials"}
    if scopes:
        data["scope"] = (service.scope_separator or " ").join(scopes)
    response = server_side_exchange(actor=actor, service=service, values=values, data=data)

    def apply(auth):
        auth.scopes = scopes
        token_response_apply(authentication=auth, token_response=response)

    return connection_save(
        actor=actor, target=target, values=values, apply=apply, token_response=response
    )


def authentication_create_client_credentials(
    *,
    actor: Actor,
    service: Service,
    workspace: Workspace | None = None,
    name: str = "",
    scopes: list[str] | None = None,
    parameters: dict | None = None,
) -> Authentication:
    target = new_connection_target(actor=actor, service=service, workspace=workspace, name=name)
    return client_credentials_connect(
        actor=actor, target=target, scopes=scopes, parameters=parameters
    )
