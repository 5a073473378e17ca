"""Scoped reads of authentications and OAuth transactions. Views call these, never
Authentication.objects."""

from django.db.models import QuerySet

from auths.models import Authentication, OAuthTransaction
from infrastructure.errors import NotFound
from workspaces.access import Actor
from workspaces.selectors import workspace_list_for_actor


def authentication_list_for_actor(*, actor: Actor) -> QuerySet[Authentication]:
    """Authentications in the workspaces the actor can see (the organization workspace's are
    visible to every member; org owners and admins see every workspace). End users' auths are
    seen by the org owner and admins (and organization keys), and by that end user alone."""
    queryset = Authentication.objects.filter(organization=actor.organization)
    if actor.end_user is not None:
        queryset = queryset.filter(end_user=actor.end_user)
    else:
        queryset = queryset.filter(workspace__in=workspace_list_for_actor(actor=actor))
        if not actor.is_owner_or_admin:
            queryset = queryset.filter(end_user__isnull=True)
    return queryset.select_related(
        "service", "workspace", "owner__user", "end_user", "organization"
    ).order_by("-created_at")


def authentication_get_for_actor(*, actor: Actor, authentication_id) -> Authentication:
    auth = authentication_list_for_actor(actor=actor).filter(pk=authentication_id).first()
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
