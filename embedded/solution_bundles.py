"""Solution bundles: a solution's release exported as a bundle (projects/bundles.py) and imported
into an organization's embedded workspace — dev → prod promotion between two organizations on the
embedded edition, as Tray does it between a dev and a prod embedded account.

- Export freezes what was **released**, not the draft: the release's slots, workflows and wizard
  screens, with the services it names as they are now (connectors by catalog key and version,
  custom services by their definition without secrets).
- Import goes into the embedded workspace only, by the org owner or an admin (or the customer's
  backend); creating a custom service there stays the org owner's (services.rules). The project
  part is projects.bundle_import's (services resolved or chosen, static slots bound, the mapping
  remembered per bundle and workspace, so later imports ask nothing unless something new
  appears). The solution made from that project is created or updated with the bundle's name and
  screens and, when that changes what is released, published as a new release; its instances
  then follow it as after any publish (embedded/instances.py): moved at once, or marked
  needs_upgrade when the release asks the end user for something new.
- One transaction: a refusal anywhere leaves the target as it was.
"""

from dataclasses import dataclass

from django.db import transaction

from embedded.access import require_embedded_builder
from embedded.instances import instances_follow_release
from embedded.models import Release, Solution
from embedded.solutions import (
    draft_snapshot,
    latest_release,
    solution_create,
    solution_publish,
    solution_update,
)
from infrastructure.errors import NotFound, RuleViolation
from projects.bundle_import import ImportResult, bundle_import, bundle_plan
from projects.bundles import bundle_export_record, bundle_from_snapshot, project_bundle_id
from projects.definitions import project_snapshot
from workspaces.access import Actor, asset_workspace
from workspaces.models import Workspace, WorkspaceKind


def solution_bundle(*, actor: Actor, solution: Solution, release: Release | None = None) -> dict:
    """The bundle of a release of the solution (its latest without one)."""
    require_embedded_builder(actor, "export solutions")
    if solution.organization_id != actor.organization.pk:
        raise NotFound("Solution not found.")
    release = release or latest_release(solution)
    if release is None or release.solution_id != solution.pk:
        raise RuleViolation(
            f"'{solution.name}' has no release to export: publish it first (a solution bundle "
            "is what was released).",
            field="release",
        )
    snapshot = release.snapshot
    bundle = bundle_from_snapshot(
        actor=actor,
        kind="solution",
        bundle_id=project_bundle_id(solution.project),
        name=solution.project.name,
        description=solution.project.description,
        snapshot=snapshot,
        solution={
            "name": solution.name,
            "description": solution.description or "",
            "release": release.number,
            "screens": snapshot.get("screens", []),
        },
    )
    return bundle_export_record(actor=actor, bundle=bundle)


def embedded_workspace(actor: Actor) -> Workspace:
    workspace = Workspace.objects.filter(
        organization=actor.organization, kind=WorkspaceKind.EMBEDDED
    ).first()
    if workspace is None:  # pragma: no cover - require_embedded refuses first
        raise NotFound("Workspace not found.", field="workspace")
    return workspace


def _require_solution_bundle(bundle: dict, workspace: Workspace) -> None:
    if bundle["kind"] != "solution":
        raise RuleViolation(
            f"kind: this is a {bundle['kind']} bundle; import it as a project (into any "
            "workspace), or export the solution to promote it.",
            field="kind",
        )


def solution_bundle_plan(*, actor: Actor, bundle: dict, choices=None) -> dict:
    require_embedded_builder(actor, "import solutions")
    workspace = embedded_workspace(actor)
    _require_solution_bundle(bundle, workspace)
    plan = bundle_plan(actor=actor, workspace=workspace, bundle=bundle, choices=choices)
    existing = Solution.objects.filter(
        organization=actor.organization, project_id=plan["project"]["id"]
    ).first()
    plan["solution"] = {
        "action": "update" if existing else "create",
        "id": str(existing.pk) if existing else None,
    }
    return plan


@dataclass(frozen=True)
class SolutionImportResult:
    imported: ImportResult
    solution: Solution
    solution_created: bool
    release: Release | None
    instances: dict


def _screens_from_bundle(actor: Actor, solution: Solution, bundle: dict) -> Solution:
    part = bundle["solution"]
    try:
        return solution_update(
            actor=actor,
            solution=solution,
            name=part["name"],
            description=part["description"],
            layout={"screens": part["screens"]},
        )
    except RuleViolation as error:
        # The layout is the bundle's solution.screens: name the field where it is in the bundle.
        field = (error.field or "layout").replace("layout", "solution", 1)
        message = error.message.replace("layout", "solution", 1)
        raise RuleViolation(message, field=field, code="invalid_bundle") from None


@transaction.atomic
def solution_bundle_import(*, actor: Actor, bundle: dict, choices=None) -> SolutionImportResult:
    """Import a (parsed) solution bundle into the actor's organization's embedded workspace."""
    require_embedded_builder(actor, "import solutions")
    workspace = embedded_workspace(actor)
    _require_solution_bundle(bundle, workspace)
    imported = bundle_import(actor=actor, workspace=workspace, bundle=bundle, choices=choices)
    project = imported.project
    solution = Solution.objects.select_for_update().filter(project=project).first()
    created = solution is None
    if created:
        solution = solution_create(actor=actor, project=project, name=bundle["solution"]["name"])
    solution = _screens_from_bundle(actor, solution, bundle)
    # Slots the exporting builder took off every screen stay off them here (without this, the
    # draft would put them back on the generated screens).
    snapshot = project_snapshot(project)
    placed = {slot for screen in solution.layout["screens"] for slot in screen["slots"]}
    every = {s["external_id"] for s in snapshot["auth_slots"] + snapshot["config_slots"]}
    solution.layout = {**solution.layout, "hidden": sorted(every - placed)}
    solution.save(update_fields=["layout", "updated_at"])
    latest = latest_release(solution)
    release, counts = None, {"upgraded": 0, "needs_upgrade": 0}
    if latest is None or latest.snapshot != draft_snapshot(solution):
        release = solution_publish(actor=actor, solution=solution)
        counts = instances_follow_release(solution=solution, release=release)
    return SolutionImportResult(
        imported=imported,
        solution=solution,
        solution_created=created,
        release=release,
        instances=counts,
    )


# --- one entry for every kind (the API, the admin and the import command) ------------------------


def _workspace_or_default(actor: Actor, workspace: Workspace | None) -> Workspace:
    return asset_workspace(actor=actor, workspace=workspace)


def any_bundle_plan(
    *, actor: Actor, bundle: dict, workspace: Workspace | None = None, choices=None
) -> dict:
    """The plan of a parsed bundle of any kind: a solution for the embedded workspace, a project
    or workflow for the workspace given (default: where the actor's assets go)."""
    if bundle["kind"] == "solution":
        return solution_bundle_plan(actor=actor, bundle=bundle, choices=choices)
    return bundle_plan(
        actor=actor,
        workspace=_workspace_or_default(actor, workspace),
        bundle=bundle,
        choices=choices,
    )


def any_bundle_import(
    *, actor: Actor, bundle: dict, workspace: Workspace | None = None, choices=None
) -> SolutionImportResult | ImportResult:
    if bundle["kind"] == "solution":
        return solution_bundle_import(actor=actor, bundle=bundle, choices=choices)
    return bundle_import(
        actor=actor,
        workspace=_workspace_or_default(actor, workspace),
        bundle=bundle,
        choices=choices,
    )
