"""Solution instances: one end user's activation of a solution, from one release.

An instance holds config values and the auths bound to its auth slots. It starts disabled and is
enabled only when asked, and only once it is complete: every auth slot bound to a usable auth,
every required config value set, no upgrade pending. The customer's backend then calls the end
user's APIs through it by slot (instance_request), never holding a token.

Binding an auth to a slot checks: same organization, owned by the instance's end user (or the
slot's static auth), the slot's service, scopes that cover the slot's, and for a `force_unique`
slot an auth bound to no other instance.

When a solution publishes a release (instances_follow_release), an instance that already gives
everything the new release requires moves to it at once; one that lacks something new (a new auth
slot, a wider scope, a new required setting) is marked needs_upgrade and keeps its release until
the end user completes the wizard again (an update that makes it complete moves it).
"""

from dataclasses import dataclass

from django.db import transaction

from auths.models import Authentication, AuthStatus
from connections.http_client import HttpResult, http_request
from embedded.access import require_embedded
from embedded.models import InstanceAuth, Release, Solution, SolutionInstance
from embedded.solutions import latest_release, require_live_release
from infrastructure.errors import Conflict, NotAllowed, NotFound, RuleViolation
from infrastructure.ids import uuid_required
from projects.config_values import config_values_clean
from workspaces.access import Actor
from workspaces.models import EndUser

UNUSABLE = (AuthStatus.NEEDS_REAUTH, AuthStatus.DISABLED)


def require_instance_access(actor: Actor, instance: SolutionInstance) -> None:
    """The customer's backend (an organization key), the org owner and admins act on every
    instance; an end user (through a code) on their own only."""
    require_embedded(actor)
    if instance.organization_id != actor.organization.pk:
        raise NotFound("Instance not found.")
    if actor.end_user is not None:
        if instance.end_user_id != actor.end_user.pk:
            raise NotFound("Instance not found.")
        return
    if not actor.is_owner_or_admin:
        raise NotAllowed("Only the organization's owner or an admin can manage instances.")


# --- what a release asks of an instance ----------------------------------------------------------


def _auth_slots(release: Release) -> dict[str, dict]:
    return {s["external_id"]: s for s in release.snapshot["auth_slots"]}


def _requirements(release: Release) -> set[tuple]:
    """What an instance must give for this release: each auth slot (with its service and scopes)
    and each required config slot without a default (with its type and choices)."""
    needs = {
        ("auth", s["external_id"], s["service"], tuple(sorted(s["scopes"])))
        for s in release.snapshot["auth_slots"]
        if not s["static_authentication"]
    }
    needs |= {
        ("config", s["external_id"], s["type"], tuple(s.get("choices") or ()))
        for s in release.snapshot["config_slots"]
        if s["required"] and s["default"] is None
    }
    return needs


def _unmet(instance: SolutionInstance, release: Release) -> list[tuple[str, str]]:
    """What keeps the instance from being complete for `release`: (slot external id, why)."""
    bindings = _bindings(instance)
    problems = []
    for external_id, slot in _auth_slots(release).items():
        auth = bindings.get(external_id)
        if auth is None:
            problems.append((external_id, f"auth slot '{external_id}' has no authentication"))
            continue
        problem = _binding_problem(instance, slot, auth)
        if problem:
            problems.append((external_id, problem))
        elif auth.status in UNUSABLE:
            why = f": {auth.status_reason}" if auth.status_reason else ""
            status = auth.get_status_display().lower()
            problems.append(
                (external_id, f"the authentication of '{external_id}' is {status}{why}")
            )
    for slot in release.snapshot["config_slots"]:
        value = (instance.config_values or {}).get(slot["external_id"])
        try:
            config_values_clean(
                slots=[slot], values={} if value is None else {slot["external_id"]: value}
            )
        except RuleViolation as error:
            problems.append((slot["external_id"], error.message))
    return problems


def _bindings(instance: SolutionInstance) -> dict[str, Authentication]:
    return {
        binding.slot: binding.authentication
        for binding in instance.auth_bindings.select_related("authentication__service")
    }


# --- binding -------------------------------------------------------------------------------------


def _binding_problem(instance: SolutionInstance, slot: dict, auth: Authentication) -> str | None:
    external_id = slot["external_id"]
    if slot["static_authentication"]:
        if str(auth.pk) != slot["static_authentication"]:
            return f"'{external_id}' is a static slot: it always uses the solution's shared auth"
        return None
    if auth.end_user_id != instance.end_user_id:
        return f"the authentication for '{external_id}' is not one of this end user's"
    if str(auth.service_id) != slot["service"]:
        return (
            f"'{external_id}' needs an authentication of {slot['service_name']}, not of "
            f"{auth.service.name}"
        )
    missing = sorted(set(slot["scopes"]) - set(auth.scopes or []))
    if missing:
        return (
            f"the authentication for '{external_id}' lacks the scopes {', '.join(missing)}; "
            "re-authenticate it with them"
        )
    if slot["force_unique"]:
        elsewhere = (
            InstanceAuth.objects.filter(authentication=auth).exclude(instance=instance).exists()
        )
        if elsewhere:
            return (
                f"'{external_id}' needs an authentication of its own (force unique); this one is "
                "bound to another instance"
            )
    return None


def _bind(instance: SolutionInstance, release: Release, auth_values: list) -> None:
    slots = _auth_slots(release)
    if not isinstance(auth_values, list):
        raise RuleViolation(
            'auth_values: give a list of {"external_id": "…", "authentication_id": "…"}.',
            field="auth_values",
        )
    for index, item in enumerate(auth_values):
        where = f"auth_values[{index}]"
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if external_id not in slots:
            raise RuleViolation(
                f"{where}: the solution has no auth slot '{external_id}' (its slots: "
                f"{', '.join(slots) or 'none'}).",
                field=f"{where}.external_id",
            )
        slot = slots[external_id]
        if slot["static_authentication"]:
            raise RuleViolation(
                f"{where}: '{external_id}' is a static slot: every instance uses the solution's "
                "shared auth, so it cannot be bound.",
                field=f"{where}.external_id",
            )
        auth_id = item.get("authentication_id")
        if auth_id is None:
            InstanceAuth.objects.filter(instance=instance, slot=external_id).delete()
            continue
        auth = (
            Authentication.objects.select_related("service")
            .filter(
                pk=uuid_required(
                    auth_id, field=f"{where}.authentication_id", what="an authentication"
                )
            )
            .filter(organization=instance.organization)
            .first()
        )
        if auth is None:
            raise NotFound("Authentication not found.", field=f"{where}.authentication_id")
        problem = _binding_problem(instance, slot, auth)
        if problem:
            raise RuleViolation(f"{where}: {problem}.", field=f"{where}.authentication_id")
        InstanceAuth.objects.update_or_create(
            instance=instance, slot=external_id, defaults={"authentication": auth}
        )


def _bind_static_slots(instance: SolutionInstance, release: Release) -> None:
    for external_id, slot in _auth_slots(release).items():
        auth_id = slot["static_authentication"]
        if auth_id:
            InstanceAuth.objects.update_or_create(
                instance=instance, slot=external_id, defaults={"authentication_id": auth_id}
            )


def _move_to(instance: SolutionInstance, release: Release) -> None:
    """Follow `release`: config values of removed slots dropped (defaults of new ones applied),
    bindings of removed slots unbound, static slots bound."""
    slots = _auth_slots(release)
    instance.auth_bindings.exclude(slot__in=list(slots)).delete()
    _bind_static_slots(instance, release)
    known = {s["external_id"] for s in release.snapshot["config_slots"]}
    instance.config_values = config_values_clean(
        slots=release.snapshot["config_slots"],
        values={k: v for k, v in (instance.config_values or {}).items() if k in known},
        partial=True,
    )
    instance.release = release
    instance.needs_upgrade = False


# --- the functions callers use -------------------------------------------------------------------


@transaction.atomic
def instance_create(
    *,
    actor: Actor,
    solution: Solution,
    end_user: EndUser,
    name: str = "",
    config_values: dict | None = None,
    auth_values: list | None = None,
) -> SolutionInstance:
    """An end user's instance of the solution's live release. It starts disabled."""
    require_embedded(actor)
    if actor.end_user is None and not actor.is_owner_or_admin:
        raise NotAllowed("Only the organization's owner or an admin can create instances.")
    if end_user.organization_id != actor.organization.pk or (
        actor.end_user is not None and actor.end_user.pk != end_user.pk
    ):
        raise NotFound("End user not found.", field="end_user")
    if solution.organization_id != actor.organization.pk:
        raise NotFound("Solution not found.", field="solution")
    release = require_live_release(solution)
    instance = SolutionInstance.objects.create(
        organization=actor.organization,
        solution=solution,
        release=release,
        end_user=end_user,
        name=_name(name or solution.name),
        config_values=config_values_clean(
            slots=release.snapshot["config_slots"], values=config_values or {}, partial=True
        ),
    )
    _bind_static_slots(instance, release)
    if auth_values:
        _bind(instance, release, auth_values)
    return instance


def _name(value) -> str:
    value = str(value or "").strip()
    if not value or len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RuleViolation("name: give a name of 1 to 200 characters on one line.", field="name")
    return value


def instance_update(
    *,
    actor: Actor,
    instance: SolutionInstance,
    name: str | None = None,
    config_values: dict | None = None,
    auth_values: list | None = None,
) -> SolutionInstance:
    """Change the name, config values (merged: a value of null removes it) and auth bindings. An
    instance waiting for an upgrade is edited against the latest release, and moves to it as soon
    as it gives everything that release requires."""
    require_instance_access(actor, instance)
    with transaction.atomic():
        instance = (
            SolutionInstance.objects.select_for_update()
            .select_related("release", "solution", "end_user")
            .get(pk=instance.pk)
        )
        release = latest_release(instance.solution) if instance.needs_upgrade else instance.release
        if name is not None:
            instance.name = _name(name)
        if config_values is not None:
            if not isinstance(config_values, dict):
                raise RuleViolation(
                    'config_values: give an object of {"<external_id>": value}.',
                    field="config_values",
                )
            merged = {**(instance.config_values or {}), **config_values}
            merged = {k: v for k, v in merged.items() if v is not None}
            instance.config_values = config_values_clean(
                slots=release.snapshot["config_slots"], values=merged, partial=True
            )
        if auth_values is not None:
            _bind(instance, release, auth_values)
        if instance.needs_upgrade and not _unmet_new(instance, release):
            _move_to(instance, release)
        instance.save()
    return instance


def _unmet_new(instance: SolutionInstance, release: Release) -> list[str]:
    """What the instance lacks of what `release` newly requires (not what it lacked before)."""
    new = {need[1] for need in _requirements(release) - _requirements(instance.release)}
    return [why for external_id, why in _unmet(instance, release) if external_id in new]


def instance_problems(instance: SolutionInstance) -> list[str]:
    """Why the instance cannot be enabled now (empty when it can)."""
    problems = []
    if instance.needs_upgrade:
        release = latest_release(instance.solution)
        problems.append(
            f"the solution's release {release.number} needs more from the end user: they must "
            "complete the wizard again"
        )
    return problems + [why for _, why in _unmet(instance, instance.release)]


def instance_enable(*, actor: Actor, instance: SolutionInstance) -> SolutionInstance:
    require_instance_access(actor, instance)
    with transaction.atomic():
        instance = (
            SolutionInstance.objects.select_for_update()
            .select_related("release", "solution")
            .get(pk=instance.pk)
        )
        problems = instance_problems(instance)
        if problems:
            raise Conflict(f"'{instance.name}' cannot be enabled yet: {'; '.join(problems)}.")
        if not instance.enabled:
            instance.enabled = True
            instance.save(update_fields=["enabled", "updated_at"])
    return instance


def instance_disable(*, actor: Actor, instance: SolutionInstance) -> SolutionInstance:
    require_instance_access(actor, instance)
    SolutionInstance.objects.filter(pk=instance.pk).update(enabled=False)
    instance.enabled = False
    return instance


def instance_delete(*, actor: Actor, instance: SolutionInstance) -> None:
    """The instance and its bindings go; the end user's auths stay (they may serve others)."""
    require_instance_access(actor, instance)
    instance.delete()


@dataclass(frozen=True)
class SlotValue:
    external_id: str
    authentication_id: str | None
    status: str | None


def instance_auth_values(instance: SolutionInstance) -> list[SlotValue]:
    bindings = _bindings(instance)
    return [
        SlotValue(
            external_id=external_id,
            authentication_id=str(bindings[external_id].pk) if external_id in bindings else None,
            status=bindings[external_id].status if external_id in bindings else None,
        )
        for external_id in _auth_slots(instance.release)
    ]


def instances_follow_release(*, solution: Solution, release: Release) -> dict:
    """After `release` was published: each instance moves to it, or waits as needs_upgrade.
    Returns how many did which."""
    counts = {"upgraded": 0, "needs_upgrade": 0}
    instances = (
        SolutionInstance.objects.filter(solution=solution)
        .exclude(release=release)
        .select_related("release", "solution")
    )
    for instance in instances.iterator(chunk_size=200):
        with transaction.atomic():
            instance = (
                SolutionInstance.objects.select_for_update()
                .select_related("release", "solution")
                .get(pk=instance.pk)
            )
            if _unmet_new(instance, release):
                instance.needs_upgrade = True
                counts["needs_upgrade"] += 1
            else:
                _move_to(instance, release)
                counts["upgraded"] += 1
            instance.save()
    return counts


def instance_request(
    *, actor: Actor, instance: SolutionInstance, slot: str, **request
) -> HttpResult:
    """Call the end user's API through the auth bound to `slot` (the HTTP client: credentials
    injected, 401 → refresh once → replay). Refused while the instance is disabled."""
    require_instance_access(actor, instance)
    if not instance.enabled:
        raise Conflict(
            f"'{instance.name}' is disabled: enable it before calling APIs through it.",
        )
    binding = (
        InstanceAuth.objects.select_related(
            "authentication__service", "authentication__organization"
        )
        .filter(instance=instance, slot=slot)
        .first()
    )
    if binding is None:
        known = ", ".join(_auth_slots(instance.release)) or "none"
        raise RuleViolation(
            f"slot: the instance has no authentication bound to '{slot}' (its auth slots: "
            f"{known}).",
            field="slot",
        )
    return http_request(authentication=binding.authentication, **request)
