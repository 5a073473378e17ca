"""What an authentication's credentials were granted for: the URLs they may be sent to and the
client id they were issued to, as the service defined them when the person connected.

A credential goes only to the origins it was granted for (token, refresh, revoke and API base) and
with the client id it was granted to (docs/design.md, Boundaries). Without this, anyone who may
edit a service (its owner, an org admin, an organization API key) could point its base URL or token
URL at a host they control, and the next API call or scheduled refresh would send other people's
API keys, refresh tokens and the client secret there, with nobody acting.

The rule, per URL: the credential may go where it goes now if the service's URL template is the
one granted (its placeholders may resolve differently only through values the person gave or the
provider's own token responses, e.g. Salesforce's instance URL), or if the URL resolves to the
granted origin (a path-only edit needs nothing). Otherwise the auth must be re-authenticated: the
refresh, the revocation and the HTTP client refuse, and lifecycle/state.py moves it to
needs_reauth with the reason.
"""

from urllib.parse import urlsplit

from auths.parameters import ParameterValues, resolve_placeholders, resolve_url
from infrastructure.errors import DomainError

# The URLs a credential is sent to, and how people call them.
GRANTED_URLS = {
    "token_url": "token URL",
    "refresh_url": "refresh URL",
    "revoke_url": "revocation URL",
    "base_url": "API base URL",
}
DEFAULT_PORTS = {"https": 443, "http": 80}


class GrantMoved(DomainError):
    """The service now sends this auth's credentials somewhere they were not granted for."""

    status_code = 409
    code = "reauthentication_needed"


def origin(url: str) -> str:
    """scheme://host:port of a URL (the port always written), or "" when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return ""
    if not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def _resolved_origin(template: str, values: dict, what: str) -> str:
    try:
        return origin(resolve_url(template, values, what=what))
    except DomainError:
        return ""  # a placeholder without a value: nothing can be sent there anyway


def _client_id(service, values: dict) -> str:
    try:
        return resolve_placeholders(service.client_id or "", values, what="client id")
    except DomainError:
        return ""


def grant_of(*, service, values: ParameterValues) -> dict:
    """The grant of credentials obtained now: every URL template with its origin, and the client
    id. Stored on the authentication by connections/connection.py."""
    merged = values.merged()
    urls = {
        field: {"template": template, "origin": _resolved_origin(template, merged, what)}
        for field, what in GRANTED_URLS.items()
        if (template := getattr(service, field) or "")
    }
    return {"urls": urls, "client_id": _client_id(service, merged)}


def _covers(grant: dict, field: str, template: str, url_origin: str) -> bool:
    granted = grant.get("urls", {}).get(field)
    if granted:
        return granted["template"] == template or granted["origin"] == url_origin
    # A refresh URL added later may point where the token URL was granted (the default anyway).
    token = grant.get("urls", {}).get("token_url")
    return field == "refresh_url" and bool(token) and token["origin"] == url_origin


def _client_id_covered(grant: dict, client_id: str) -> bool:
    # Not recorded: made of a secret parameter when the grant was backfilled (migration 0006).
    return "client_id" not in grant or grant["client_id"] == client_id


def grant_problem(*, authentication, field: str, url: str, client_id: str | None = None):
    """Why the credential may not go to `url` as the service's `field` (or with `client_id`), or
    None when it may. An auth with no grant recorded (created outside the connection flows, e.g. in
    a shell) trusts the service as it is."""
    grant = authentication.grant or {}
    if not grant:
        return None
    template = getattr(authentication.service, field) or ""
    if not _covers(grant, field, template, origin(url)):
        granted = grant.get("urls", {}).get(field)
        return (
            f"The service's {GRANTED_URLS[field]} changed after this authentication was "
            f"connected: its credentials were granted for "
            f"{granted['origin'] if granted else 'no such address'}, not {origin(url) or url}. "
            "Re-authenticate to trust the new address."
        )
    if client_id is not None and not _client_id_covered(grant, client_id):
        return (
            "The service's client id changed after this authentication was connected: its "
            "tokens were issued to another OAuth app. Re-authenticate with the new app."
        )
    return None


def require_granted(*, authentication, field: str, url: str, client_id: str | None = None):
    """Raise GrantMoved when the credential may not go to `url` (or with `client_id`)."""
    problem = grant_problem(
        authentication=authentication, field=field, url=url, client_id=client_id
    )
    if problem:
        raise GrantMoved(problem, field=field)


def grant_moved_fields(*, authentication, service) -> list[str]:
    """The fields of `service` (as edited) that this auth's grant no longer covers: the auths an
    edit strands, for the warning to the editor and their move to needs_reauth."""
    grant = authentication.grant or {}
    if not grant:
        return []
    merged = ParameterValues.of(authentication).merged()
    moved = [
        field
        for field, what in GRANTED_URLS.items()
        if (template := getattr(service, field) or "")
        and not _covers(grant, field, template, _resolved_origin(template, merged, what))
    ]
    if not _client_id_covered(grant, _client_id(service, merged)):
        moved.append("client_id")
    return moved
