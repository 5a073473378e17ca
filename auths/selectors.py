"""Scoped reads of authentications and OAuth transactions. Views call these, never
Authentication.objects."""

from collections.abc import Sequence

from django.db.models import QuerySet

from auths.models import Authentication, OAuthTransaction
from infrastructure.errors import NotFound
from workspaces.access import Actor
from workspaces.selectors import workspace_list_for_actor


def authentication_list_for_actor(
    *, actor: Actor, columns: Sequence[str] | None = None
) -> QuerySet[Authentication]:
    """Authentications in the workspaces the actor can see (the organization workspace's are
    visible to every member; org owners and admins see every workspace). End users' auths are
    seen by the org owner and admins (and organization keys), and by that end user alone.

    `columns` (for reads that render: `service__name` names a column of a related row) loads
    those alone, joining only the rows they name; without it, the auth with its service,
    workspace, owner, end user and organization, for the code that acts on it."""
    queryset = Authentication.objects.filter(organization=actor.organization)
    if actor.end_user is not None:
        queryset = queryset.filter(end_user=actor.end_user)
    else:
        queryset = queryset.filter(workspace__in=workspace_list_for_actor(actor=actor))
        if not actor.is_owner_or_admin:
            queryset = queryset.filter(end_user__isnull=True)
    queryset = queryset.order_by("-created_at")
    if columns is not None:
        related = {column.rsplit("__", 1)[0] for column in columns if "__" in column}
        return queryset.select_related(*related).only(*columns)
    return queryset.select_related(
        "service", "workspace", "owner__user", "end_user", "organization"
    )


def authentication_get_for_actor(
    *, actor: Actor, authentication_id, columns: Sequence[str] | None = None
) -> Authentication:
    auth = (
        authentication_list_for_actor(actor=actor, columns=columns)
        .filter(pk=authentication_id)
        .first()
    )
    if auth is None:
        raise NotFound("Authentication not found.")
    return auth


def authentication_visible(*, actor: Actor, authentication_id) -> bool:
    return authentication_list_for_actor(actor=actor).filter(pk=authentication_id).exists()


def oauth_transaction_for_user(*, user, transaction_id) -> OAuthTransaction:
    """An OAuth transaction is visible only to the person who started it."""
    transaction = (
        OAuthTransaction.objects.filter(pk=transaction_id, started_by=user)
        .select_related("service", "result_authentication", "organization")
        .first()
    )
    if transaction is None:
        raise NotFound("Not found.")
    return transaction
