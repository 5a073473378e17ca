"""What the export_bundle and import_bundle commands share: who acts, and which project, solution
or workspace a name on the command line means. (The commands live in this app, the top of the
domain layers, because they reach solutions as well as projects.)"""

from django.core.management.base import CommandError

from embedded.models import Solution
from infrastructure.ids import uuid_or_none
from projects.models import Project
from workspaces.access import Actor, actor_for
from workspaces.models import Membership, Organization, OrgRole, Workspace


def command_actor(*, organization: str, member: str) -> Actor:
    """The organization's owner, or with --member the active member with that email."""
    found = Organization.objects.filter(slug=organization).first()
    if found is None:
        raise CommandError(f"organization: no organization has the slug '{organization}'.")
    memberships = Membership.objects.filter(organization=found, is_active=True)
    if member:
        membership = memberships.filter(user__email__iexact=member).first()
        if membership is None:
            raise CommandError(f"--member: {member} is no active member of '{found.slug}'.")
    else:
        membership = memberships.get(role=OrgRole.OWNER)
    return actor_for(organization=found, user=membership.user)


def _one(rows, *, what: str, option: str, value: str):
    pk = uuid_or_none(value)
    found = list(rows.filter(pk=pk)[:1]) if pk else list(rows.filter(name=value)[:2])
    if not found:
        raise CommandError(f"{option}: no {what} '{value}' in this organization.")
    if len(found) > 1:
        raise CommandError(f"{option}: several {what}s are called '{value}'; give the id.")
    return found[0]


def named_project(actor: Actor, value: str) -> Project:
    rows = Project.objects.filter(organization=actor.organization)
    return _one(rows, what="project", option="--project", value=value)


def named_solution(actor: Actor, value: str) -> Solution:
    rows = Solution.objects.filter(organization=actor.organization)
    return _one(rows, what="solution", option="--solution", value=value)


def named_workspace(actor: Actor, value: str) -> Workspace | None:
    """A workspace by id, by name, or by kind (organization, embedded); None without one."""
    if not value:
        return None
    rows = Workspace.objects.filter(organization=actor.organization)
    by_kind = rows.filter(kind=value).exclude(kind__in=["personal", "shared"])
    if by_kind.count() == 1:
        return by_kind.get()
    return _one(rows, what="workspace", option="--workspace", value=value)
