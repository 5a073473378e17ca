"""Changes to an existing authentication: rename, move to another workspace, disable and enable,
delete (revoking the grant at the provider first when the service has a revoke URL)."""

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from auths.grants import grant_problem
from auths.models import Authentication
from auths.parameters import ParameterValues
from auths.tokens import TokenError, service_url, token_revoke
from connections.connection import require_manage
from events.models import EventKind
from events.recording import event_record
from infrastructure import egress
from infrastructure.errors import NotFound, RuleViolation
from infrastructure.text import name_check
from lifecycle import state
from services.models import AuthScheme, Service, ServiceSource
from workspaces.access import Actor, require_asset_creation
from workspaces.models import Workspace


def authentication_rename(*, actor: Actor, authentication: Authentication, name: str):
    require_manage(actor=actor, authentication=authentication, action="rename")
    name = name_check((name or "").strip(), what="An authentication's name")
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


def authentication_disable(*, actor: Actor, authentication: Authentication) -> Authentication:
    """Pause it: no refresh and no API calls until enabled again."""
    require_manage(actor=actor, authentication=authentication, action="disable")
    if not state.disable(authentication=authentication, message=f"Disabled by {actor.label}."):
        raise RuleViolation("This authentication is already disabled.")
    return authentication


def authentication_enable(*, actor: Actor, authentication: Authentication) -> Authentication:
    require_manage(actor=actor, authentication=authentication, action="enable")
    if not state.enable(authentication=authentication, message=f"Enabled by {actor.label}."):
        raise RuleViolation("This authentication is not disabled.")
    return authentication


@sensitive_variables()
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
    url = service_url(service=service, values=values, attribute="revoke_url")
    problem = grant_problem(authentication=authentication, field="revoke_url", url=url)
    if problem:
        return False, f"not attempted: {problem}"
    try:
        token_revoke(
            service=service,
            policy=egress.EgressPolicy.for_organization(authentication.organization),
            url=url,
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
    with transaction.atomic():
        # The row lock waits for a refresh in flight (it holds the same lock) and keeps the next
        # one out: a refresh that starts after this commits finds the auth gone. The revocation
        # therefore sends the credentials as they are now, not a refresh token just rotated.
        authentication = (
            Authentication.objects.select_for_update(of=("self",))
            .select_related("service", "organization")
            .filter(pk=authentication.pk)
            .first()
        )
        if authentication is None:
            raise NotFound("Authentication not found.")
        revoked, revocation_error = _revoke(authentication)
        service = authentication.service
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
