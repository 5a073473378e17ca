"""Solutions: a project of the embedded workspace, templated for end users, published as releases.

- A solution is made from a project that lives in the organization's embedded workspace, by the
  org owner or an admin (or an organization API key: the customer's backend).
- Its draft is the project as it stands plus the wizard layout: generated screens (one per service
  of the visible auth slots, then one of the visible config slots), which can be reordered, and
  slots moved between screens or left off them (hidden), before publishing.
- Publishing freezes the draft as the next **release**. Its state is derived, never stored: draft
  (never published), live (the draft is what was last published), changed (edited since).
- Instances follow a new release (embedded/instances.py: instances_follow_release): at once when
  it asks nothing new of the end user; otherwise they are marked needs_upgrade until the end user
  completes the wizard again.
"""

from django.db import transaction
from django.db.models import Max

from embedded.access import require_embedded_builder
from embedded.models import Release, Solution
from infrastructure.errors import Conflict, NotFound, RuleViolation
from projects.definitions import project_snapshot
from projects.models import Project
from workspaces.access import Actor
from workspaces.models import Workspace, WorkspaceKind

DRAFT, LIVE, CHANGED = "draft", "live", "changed"
SETTINGS_SCREEN = "Settings"


def _embedded_workspace(actor: Actor) -> Workspace:
    return Workspace.objects.get(organization=actor.organization, kind=WorkspaceKind.EMBEDDED)


def layout_generate(snapshot: dict) -> dict:
    """One screen per service of the visible auth slots (in slot order), then the visible config
    slots on one settings screen."""
    screens: list[dict] = []
    by_service: dict[str, dict] = {}
    for slot in snapshot["auth_slots"]:
        if slot["hidden"]:
            continue
        screen = by_service.get(slot["service"])
        if screen is None:
            screen = by_service[slot["service"]] = {"title": slot["service_name"], "slots": []}
            screens.append(screen)
        screen["slots"].append(slot["external_id"])
    settings_slots = [s["external_id"] for s in snapshot["config_slots"] if not s["hidden"]]
    if settings_slots:
        screens.append({"title": SETTINGS_SCREEN, "slots": settings_slots})
    return {"screens": screens}


def _screens_checked(snapshot: dict, layout: dict) -> list[dict]:
    """The layout's screens, each slot of the project at most once; static slots never shown (the
    end user never sees them); a required config slot without a default must be shown, or no
    instance could ever be enabled."""
    screens = layout.get("screens") if isinstance(layout, dict) else None
    if not isinstance(screens, list):
        raise RuleViolation(
            'layout: give {"screens": [{"title": "…", "slots": ["<external_id>", …]}]}.',
            field="layout",
        )
    auth_slots = {s["external_id"]: s for s in snapshot["auth_slots"]}
    config_slots = {s["external_id"]: s for s in snapshot["config_slots"]}
    placed: set[str] = set()
    checked = []
    for index, screen in enumerate(screens):
        where = f"layout.screens[{index}]"
        if not isinstance(screen, dict) or not isinstance(screen.get("slots"), list):
            raise RuleViolation(f"{where}: give a title and a list of slots.", field=where)
        title = str(screen.get("title") or "").strip()
        if not title or len(title) > 200 or any(ord(c) < 32 for c in title):
            raise RuleViolation(f"{where}.title: give a one-line title.", field=f"{where}.title")
        for external_id in screen["slots"]:
            if external_id not in auth_slots and external_id not in config_slots:
                raise RuleViolation(
                    f"{where}: the project has no slot '{external_id}'.", field=f"{where}.slots"
                )
            if external_id in placed:
                raise RuleViolation(
                    f"{where}: slot '{external_id}' is already on a screen.",
                    field=f"{where}.slots",
                )
            if auth_slots.get(external_id, {}).get("static_authentication"):
                raise RuleViolation(
                    f"{where}: '{external_id}' is a static slot (one shared auth); end users "
                    "never see it, so it cannot be on a screen.",
                    field=f"{where}.slots",
                )
            placed.add(external_id)
        checked.append({"title": title, "slots": list(screen["slots"])})
    for external_id, slot in config_slots.items():
        if slot["required"] and slot["default"] is None and external_id not in placed:
            raise RuleViolation(
                f"layout: config slot '{external_id}' is required and has no default, so it must "
                "be on a screen (or give it a default in the project).",
                field="layout",
            )
    return checked


def draft_snapshot(solution: Solution) -> dict:
    """What publishing now would release: the project as it stands and the layout. Slots the
    project no longer has leave their screens; slots it gained since the layout was last edited
    join the screens the generator would give them (a slot the builder took off every screen stays
    hidden)."""
    snapshot = project_snapshot(solution.project)
    layout = solution.layout or {}
    known = {s["external_id"] for s in snapshot["auth_slots"] + snapshot["config_slots"]}
    screens = []
    for screen in layout.get("screens", []):
        slots = [s for s in screen.get("slots", []) if s in known]
        if slots:
            screens.append({"title": screen["title"], "slots": slots})
    seen = {s for screen in screens for s in screen["slots"]} | set(layout.get("hidden", []))
    for generated in layout_generate(snapshot)["screens"]:
        new = [s for s in generated["slots"] if s not in seen]
        if not new:
            continue
        same = next((screen for screen in screens if screen["title"] == generated["title"]), None)
        if same is None:
            screens.append({"title": generated["title"], "slots": new})
        else:
            same["slots"].extend(new)
    return {**snapshot, "screens": screens}


def latest_release(solution: Solution) -> Release | None:
    return solution.releases.order_by("-number").first()


def solution_state(solution: Solution, *, latest: Release | None = None) -> str:
    latest = latest or latest_release(solution)
    if latest is None:
        return DRAFT
    return LIVE if draft_snapshot(solution) == latest.snapshot else CHANGED


@transaction.atomic
def solution_create(
    *, actor: Actor, project: Project, name: str = "", description: str = ""
) -> Solution:
    require_embedded_builder(actor, "create solutions")
    workspace = _embedded_workspace(actor)
    if project.organization_id != actor.organization.pk:
        raise NotFound("Project not found.", field="project")
    if project.workspace_id != workspace.pk:
        raise RuleViolation(
            f"project: '{project.name}' is not in the embedded workspace; a solution is made from "
            "a project of the embedded workspace.",
            field="project",
        )
    name = _one_line(name or project.name, field="name")
    solution = Solution(
        organization=actor.organization,
        workspace=workspace,
        project=project,
        name=name,
        description=description or "",
        created_by=actor.user,
    )
    solution.layout = {**layout_generate(project_snapshot(project)), "hidden": []}
    solution.save()
    return solution


def _one_line(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RuleViolation(
            f"{field}: give a name of 1 to 200 characters on one line.", field=field
        )
    return value


@transaction.atomic
def solution_update(
    *,
    actor: Actor,
    solution: Solution,
    name: str | None = None,
    description: str | None = None,
    layout: dict | None = None,
) -> Solution:
    require_embedded_builder(actor, "edit solutions")
    solution = Solution.objects.select_for_update().select_related("project").get(pk=solution.pk)
    if name is not None:
        solution.name = _one_line(name, field="name")
    if description is not None:
        solution.description = description
    if layout is not None:
        solution.layout = {"screens": _screens_checked(project_snapshot(solution.project), layout)}
    solution.save()
    return solution


def solution_delete(*, actor: Actor, solution: Solution) -> None:
    require_embedded_builder(actor, "delete solutions")
    count = solution.instances.count()
    if count:
        raise Conflict(
            f"'{solution.name}' still has {count} instance{'s' if count != 1 else ''}; delete "
            "them first (each is an end user's activation)."
        )
    solution.delete()


def solution_publish(*, actor: Actor, solution: Solution) -> Release:
    """Freeze the draft as the next release, then bring the instances along
    (embedded/instances.py decides, per instance, between an upgrade and needs_upgrade)."""
    require_embedded_builder(actor, "publish solutions")
    with transaction.atomic():
        solution = (
            Solution.objects.select_for_update().select_related("project").get(pk=solution.pk)
        )
        snapshot = draft_snapshot(solution)
        _screens_checked(snapshot, {"screens": snapshot["screens"]})
        latest = latest_release(solution)
        if latest is not None and latest.snapshot == snapshot:
            raise Conflict(
                f"'{solution.name}' has no change since release {latest.number}; nothing to "
                "publish."
            )
        number = (solution.releases.aggregate(n=Max("number"))["n"] or 0) + 1
        return Release.objects.create(
            solution=solution, number=number, snapshot=snapshot, published_by=actor.user
        )


def require_live_release(solution: Solution) -> Release:
    release = latest_release(solution)
    if release is None:
        raise RuleViolation(
            f"'{solution.name}' has not been published yet: publish it before creating instances.",
            field="solution",
        )
    return release
