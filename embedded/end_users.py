"""End users: the people of an embedded customer's own product. The customer's backend (an
organization API key), or the org owner and admins, create, update and delete them; they are not
members and never sign in. Each is known by the customer's own `external_user_id`, unique in the
organization.

An end user owns authentications in the embedded workspace. Besides the wizard and connect links,
the backend may **import** credentials it already holds for them (Tray's "import authentication"):
a token service's credential fields, or OAuth 2.0 tokens (access token, refresh token, expiry,
scopes). An import goes through the same save as every connection (connections/connection.py), so
the auth is encrypted, granted to the service's addresses, scheduled for refresh and predicted like
any other.

Deleting an end user revokes each of their auths at the provider (where the service has a revoke
URL; a failed revocation is recorded and reported, it does not keep the auth), deletes their auths
and instances, and records an `end_user_deleted` event. It returns what happened.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from auths.models import Authentication
from connections.authentications import authentication_delete
from connections.connection import new_connection_target
from connections.imported_tokens import ImportedTokens, oauth2_tokens_import
from connections.token_auth import token_connect
from embedded.access import require_embedded_builder
from embedded.end_user_events import end_user_summary
from embedded.models import SolutionInstance
from events.models import EventKind
from events.recording import organization_event_record
from infrastructure.errors import NotFound, RuleViolation
from infrastructure.text import name_check, single_line
from services.models import AuthScheme, Service
from services.selectors import service_list_for_actor
from workspaces.access import Actor, actor_for_end_user
from workspaces.models import EndUser

MAX_EXTERNAL_ID_LENGTH = 200
MAX_NAME_LENGTH = 200
# Metadata is the customer's note about the person (a plan, a region, its own ids), stored with
# every end user and returned on every read: small. Bytes of its compact JSON.
METADATA_MAX_BYTES = 8 * 1024
UNIQUE_EXTERNAL_ID = "end_user_unique_external_id"
OAUTH_FIELDS = ("access_token", "refresh_token", "expires_at", "expires_in", "scopes")


def _require(actor: Actor, end_user: EndUser | None, action: str) -> None:
    require_embedded_builder(actor, action)
    if end_user is not None and end_user.organization_id != actor.organization.pk:
        raise NotFound("End user not found.")


# --- values --------------------------------------------------------------------------------------


def _external_user_id(value) -> str:
    value = str(value if value is not None else "").strip()
    if not value or len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise RuleViolation(
            f"external_user_id: give your own id for this person, 1 to {MAX_EXTERNAL_ID_LENGTH} "
            "characters.",
            field="external_user_id",
        )
    return name_check(value, field="external_user_id", what="An external user id")


def _name(value) -> str:
    value = str(value if value is not None else "").strip()
    if len(value) > MAX_NAME_LENGTH:
        raise RuleViolation(f"name: give at most {MAX_NAME_LENGTH} characters.", field="name")
    return name_check(value, field="name", what="An end user's name")


def _metadata(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleViolation(
            'metadata: give a JSON object ({"plan": "pro"}), or leave it out.', field="metadata"
        )
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > METADATA_MAX_BYTES:
        raise RuleViolation(
            f"metadata: {size:,} bytes of JSON is more than the {METADATA_MAX_BYTES:,} allowed; "
            "keep only what you need to recognise the person and hold the rest in your own "
            "system.",
            field="metadata",
        )
    return value


def _taken(external_user_id: str) -> RuleViolation:
    return RuleViolation(
        f"external_user_id: an end user '{external_user_id}' already exists in this "
        "organization. Find it with ?external_user_id=, or give another id.",
        field="external_user_id",
    )


def _save_unique(end_user: EndUser) -> EndUser:
    """Save, turning the organization's unique external id into a field error. The check before
    gives the message in the usual case; the constraint (caught in a savepoint) when two requests
    race for the same id."""
    clash = EndUser.objects.filter(
        organization_id=end_user.organization_id, external_user_id=end_user.external_user_id
    ).exclude(pk=end_user.pk)
    if clash.exists():
        raise _taken(end_user.external_user_id)
    try:
        with transaction.atomic():
            end_user.save()
    except IntegrityError as error:
        if UNIQUE_EXTERNAL_ID in str(error):
            raise _taken(end_user.external_user_id) from None
        raise
    return end_user


# --- create, update ------------------------------------------------------------------------------


def end_user_create(
    *,
    actor: Actor,
    external_user_id: str,
    name: str = "",
    is_test_user: bool = False,
    metadata: dict | None = None,
) -> EndUser:
    _require(actor, None, "create end users")
    end_user = EndUser(
        organization=actor.organization,
        external_user_id=_external_user_id(external_user_id),
        name=_name(name),
        is_test_user=bool(is_test_user),
        metadata=_metadata(metadata),
    )
    return _save_unique(end_user)


def end_user_update(
    *,
    actor: Actor,
    end_user: EndUser,
    external_user_id: str | None = None,
    name: str | None = None,
    is_test_user: bool | None = None,
    metadata: dict | None = None,
) -> EndUser:
    """Change what is given; `metadata` replaces the stored object as a whole."""
    _require(actor, end_user, "update end users")
    if external_user_id is not None:
        end_user.external_user_id = _external_user_id(external_user_id)
    if name is not None:
        end_user.name = _name(name)
    if is_test_user is not None:
        end_user.is_test_user = bool(is_test_user)
    if metadata is not None:
        end_user.metadata = _metadata(metadata)
    return _save_unique(end_user)


# --- delete --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndUserDeletion:
    authentications_deleted: int = 0
    authentications_revoked: int = 0
    # [{"authentication_id", "name", "error"}]: deleted all the same.
    revocations_failed: list = field(default_factory=list)
    instances_deleted: int = 0

    def describe(self) -> str:
        failed = len(self.revocations_failed)
        return (
            f"{self.authentications_deleted} authentication(s) deleted "
            f"({self.authentications_revoked} revoked at the provider"
            + (f", {failed} revocation(s) failed" if failed else "")
            + f"), {self.instances_deleted} instance(s) deleted."
        )


def end_user_delete(*, actor: Actor, end_user: EndUser) -> EndUserDeletion:
    """Revoke and delete the end user's auths, delete their instances and the end user, and
    record it.

    Each auth goes through the deletion every auth uses
    (connections.authentications.authentication_delete: the auth's row lock, so a refresh in
    flight finishes first; revocation at the provider; a `deleted` event), before the instances
    go, so its event still names the instances that used it. A revocation that fails is recorded
    in that event and reported here; it does not stop the deletion.

    All of it is one transaction holding the end user's row lock from the start: an auth or an
    instance being made for them meanwhile (a connect link's callback, an import) waits, then
    finds them gone, so nothing is left behind that belongs to nobody. The revocations' network
    calls happen inside it (each bounded by the token deadline), as authentication_delete already
    makes them under the auth's lock; an end user has a handful of auths. The rows go all at once
    or not at all: if the deletion fails midway, grants already revoked stay revoked (RFC 7009
    accepts revoking them again) and running it again finishes it.
    """
    _require(actor, end_user, "delete end users")
    revoked, failed, deleted = 0, [], 0
    with transaction.atomic():
        end_user = (
            EndUser.objects.select_for_update()
            .filter(pk=end_user.pk, organization=actor.organization)
            .first()
        )
        if end_user is None:
            raise NotFound("End user not found.")
        # Their instances next, before any auth: an instance update that binds one of their
        # auths locks the instance and then the auth, so taking them in the same order here
        # makes it wait instead of deadlocking against the deletion.
        instance_ids = list(
            SolutionInstance.objects.select_for_update()
            .filter(end_user=end_user)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        auths = (
            Authentication.objects.filter(end_user=end_user)
            .select_related("service", "workspace", "organization")
            .order_by("created_at")
        )
        for auth in auths:
            try:
                result = authentication_delete(actor=actor, authentication=auth)
            except NotFound:
                continue  # deleted by someone else while this ran
            deleted += 1
            if result["revoked"]:
                revoked += 1
            elif result["revocation_error"]:
                failed.append(
                    {
                        "authentication_id": str(auth.pk),
                        "name": auth.name,
                        "error": result["revocation_error"],
                    }
                )
        instance_count = len(instance_ids)
        SolutionInstance.objects.filter(pk__in=instance_ids).delete()
        summary = EndUserDeletion(
            authentications_deleted=deleted,
            authentications_revoked=revoked,
            revocations_failed=failed,
            instances_deleted=instance_count,
        )
        organization_event_record(
            organization_id=actor.organization.pk,
            kind=EventKind.END_USER_DELETED,
            message=single_line(
                f"End user {end_user.external_user_id} deleted by {actor.label}: "
                f"{summary.describe()}"
            ),
            data={
                "authentications_deleted": deleted,
                "authentications_revoked": revoked,
                "revocations_failed": failed,
                "instances_deleted": instance_count,
            },
            context={"end_user": end_user_summary(end_user)},
        )
        end_user.delete()
    return summary


# --- import an authentication --------------------------------------------------------------------


@sensitive_variables()
def end_user_authentication_import(
    *,
    actor: Actor,
    end_user: EndUser,
    service: Service,
    name: str = "",
    parameters: dict | None = None,
    credentials: dict | None = None,
    access_token: str | None = None,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
    expires_in: int | None = None,
    scopes: list[str] | None = None,
) -> Authentication:
    """A new auth of `end_user` in the embedded workspace, from credentials the caller already
    holds: `credentials` (api_key or token; or username and password) for a token service, or
    OAuth 2.0 tokens for an OAuth 2.0 service. Nothing is sent to the provider."""
    _require(actor, end_user, "import end users' authentications")
    if not service_list_for_actor(actor=actor).filter(pk=service.pk).exists():
        raise NotFound("Service not found.", field="service")
    oauth = {
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": expires_at,
        "expires_in": expires_in,
        "scopes": scopes,
    }
    given_oauth = [key for key in OAUTH_FIELDS if oauth[key] not in (None, "", [])]
    if service.auth_scheme == AuthScheme.TOKEN:
        if given_oauth:
            raise RuleViolation(
                f"{service.name} takes an API key or token, not OAuth tokens: give "
                "credentials.api_key (or username and password) and leave out "
                f"{given_oauth[0]}.",
                field=given_oauth[0],
            )
        if not credentials:
            raise RuleViolation(
                f"{service.name} takes an API key or token: give it as credentials.api_key.",
                field="credentials",
            )
    elif service.auth_scheme == AuthScheme.OAUTH2:
        if credentials:
            raise RuleViolation(
                f"{service.name} uses OAuth 2.0: give the tokens (access_token, refresh_token, "
                "expires_at or expires_in, scopes), not credentials.",
                field="credentials",
            )
    else:
        raise RuleViolation(
            f"{service.name} uses {service.get_auth_scheme_display()}, whose tokens cannot be "
            "imported: send the end user through a connect link or the wizard instead.",
            field="service",
        )

    with transaction.atomic():
        # Held until the auth is saved: a deletion of the end user running now finishes first
        # (and this import then finds them gone), or waits for this auth and deletes it too.
        locked = (
            EndUser.objects.select_for_update(no_key=True)
            .filter(pk=end_user.pk, organization=actor.organization)
            .first()
        )
        if locked is None:
            raise NotFound("End user not found.")
        owner = actor_for_end_user(end_user)
        target = new_connection_target(
            actor=owner,
            service=service,
            name=name or single_line(f"{service.name} ({end_user.external_user_id})")[:200],
        )
        message = single_line(
            f"Imported for end user {end_user.external_user_id} by {actor.label}."
        )
        if service.auth_scheme == AuthScheme.TOKEN:
            return token_connect(
                actor=owner,
                target=target,
                credentials=credentials,
                parameters=parameters,
                message=message,
            )
        return oauth2_tokens_import(
            actor=owner,
            target=target,
            tokens=ImportedTokens(
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=expires_at,
                expires_in=expires_in,
                scopes=scopes,
            ),
            parameters=parameters,
            message=message,
        )
