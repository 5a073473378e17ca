"""Scoped reads of solutions and instances: views call these, never the managers."""

from django.db.models import QuerySet

from embedded.access import require_embedded
from embedded.models import Release, Solution, SolutionInstance
from infrastructure.errors import NotFound
from workspaces.access import Actor


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
