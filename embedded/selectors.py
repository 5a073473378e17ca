"""Scoped reads of solutions, instances and end users: views call these, never the managers."""

from django.db.models import Q, QuerySet

from auths.models import Authentication
from auths.selectors import authentication_list_for_actor
from embedded.access import require_embedded, require_embedded_builder
from embedded.models import Release, Solution, SolutionInstance
from infrastructure.errors import NotFound
from workspaces.access import Actor
from workspaces.models import EndUser


def solution_list_for_actor(*, actor: Actor, search: str | None = None) -> QuerySet[Solution]:
    """The organization's solutions: its owner and admins, and organization keys, see them all;
    an end user sees none through the API (the wizard pages show them their own)."""
    require_embedded(actor)
    if actor.end_user is not None or not actor.is_owner_or_admin:
        return Solution.objects.none()
    solutions = Solution.objects.filter(organization=actor.organization).select_related(
        "project", "workspace"
    )
    if search:
        solutions = solutions.filter(name__icontains=search)
    return solutions


def release_list(*, solution: Solution) -> QuerySet[Release]:
    return solution.releases.order_by("-number")


def instance_list_for_actor(
    *, actor: Actor, end_user_id=None, solution_id=None
) -> QuerySet[SolutionInstance]:
    require_embedded(actor)
    instances = SolutionInstance.objects.filter(organization=actor.organization)
    if actor.end_user is not None:
        instances = instances.filter(end_user=actor.end_user)
    elif not actor.is_owner_or_admin:
        return SolutionInstance.objects.none()
    if end_user_id:
        instances = instances.filter(end_user_id=end_user_id)
    if solution_id:
        instances = instances.filter(solution_id=solution_id)
    return instances.select_related("solution", "release", "end_user")


def instance_get_for_actor(*, actor: Actor, instance_id) -> SolutionInstance:
    instance = instance_list_for_actor(actor=actor).filter(pk=instance_id).first()
    if instance is None:
        raise NotFound("Instance not found.")
    return instance


# --- end users -----------------------------------------------------------------------------------


def end_user_list_for_actor(
    *, actor: Actor, search: str | None = None, external_user_id: str | None = None
) -> QuerySet[EndUser]:
    """The organization's end users, for its owner and admins and organization keys (the
    customer's backend). Anyone else is refused: end users are the customer's people, and other
    members and end users see none of them."""
    require_embedded_builder(actor, "manage end users")
    end_users = EndUser.objects.filter(organization=actor.organization)
    if external_user_id:
        end_users = end_users.filter(external_user_id=external_user_id)
    if search:
        end_users = end_users.filter(
            Q(external_user_id__icontains=search) | Q(name__icontains=search)
        )
    return end_users.order_by("created_at", "id")


def end_user_get_for_actor(*, actor: Actor, end_user_id) -> EndUser:
    end_user = end_user_list_for_actor(actor=actor).filter(pk=end_user_id).first()
    if end_user is None:
        raise NotFound("End user not found.")
    return end_user


def end_user_authentication_list(*, actor: Actor, end_user: EndUser) -> QuerySet[Authentication]:
    """The end user's auths, through the scoped read of authentications."""
    return authentication_list_for_actor(actor=actor).filter(end_user=end_user)
