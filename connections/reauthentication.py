"""Re-authentication in place: the authentication keeps its id (and what is bound to it), and gets
new credentials through its service's own flow."""

from auths.models import Authentication
from connections.browser_flows import browser_flow_start
from connections.client_credentials import client_credentials_connect
from connections.connection import reauthentication_target
from connections.password_grant import password_connect
from connections.token_auth import token_connect
from connections.transactions import AuthorizationStart
from services.models import AuthScheme, GrantType
from workspaces.access import Actor


def authentication_reauthenticate(
    *,
    actor: Actor,
    authentication: Authentication,
    inputs: dict,
    base_url: str,
    return_url: str = "",
) -> Authentication | AuthorizationStart:
    """Run the authentication's flow again. Server-side flows (token, client credentials,
    password) return the authentication at once; browser flows return an AuthorizationStart
    holding the authorize URL to send the person to, and `return_url` where the browser goes once
    the provider answered: for a member a path on this site, for an end user the page of the
    wizard or dialog they started from (embedded/connect_links.py checks it)."""
    target = reauthentication_target(actor=actor, authentication=authentication)
    service = target.service
    parameters = inputs.get("parameters")
    if service.auth_scheme == AuthScheme.TOKEN:
        return token_connect(
            actor=actor,
            target=target,
            credentials=inputs.get("credentials") or {},
            parameters=parameters,
        )
    if service.auth_scheme == AuthScheme.OAUTH2:
        if service.grant_type == GrantType.CLIENT_CREDENTIALS:
            return client_credentials_connect(
                actor=actor, target=target, scopes=inputs.get("scopes"), parameters=parameters
            )
        if service.grant_type == GrantType.PASSWORD:
            return password_connect(
                actor=actor,
                target=target,
                username=inputs.get("username") or authentication.username,
                password=inputs.get("password") or "",
                scopes=inputs.get("scopes"),
                parameters=parameters,
            )
    return browser_flow_start(
        actor=actor,
        target=target,
        scopes=inputs.get("scopes"),
        parameters=parameters,
        base_url=base_url,
        return_url=return_url,
    )
