"""Bundles: a project, one workflow, or a solution's release as a versioned JSON document, for
version control and for promotion between workspaces and organizations (projects/bundle_import.py
reads them back).

- The format is `projects/schemas/bundle-v1.json` (JSON Schema); every export is checked against
  it before it leaves, and every import before anything else is read.
- Deterministic: keys sorted, lists in the project's order (services by key), two-space indent,
  one trailing newline, so the same project gives the same bytes and bundles diff well.
- Services are named by a **key** (their slug): a connector by its catalog key and version (a
  fingerprint of the catalog entry), a custom service by its **full definition without secrets**
  and the list of secrets the importer must supply (`secrets_required`). No client secret, token
  or secret parameter value ever goes into a bundle; no row id of the exporting organization
  either, except the bundle's own id.
- A static auth slot (one shared authentication) is exported as `"static": true`: which
  authentication it was is the exporting organization's business; the importer binds its own.
- Exporting a custom service's full definition is what its owner, the org owner and admins may
  see (services.rules.may_manage_custom_service); anyone else is refused, naming the service.
"""

import hashlib
import json
import uuid
from functools import cache
from pathlib import Path

import jsonschema_rs

from events.models import EventKind
from events.recording import organization_event_record
from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from projects.definitions import CONFIG_SLOT_KEYS, project_snapshot
from projects.models import Project, Workflow
from services.custom_services import definition_from_service
from services.models import Service, ServiceSource
from services.rules import may_manage_custom_service
from services.validation import placeholders_in
from workspaces.access import Actor

BUNDLE_FORMAT = "connect-bundle"
BUNDLE_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "bundle-v1.json"
KINDS = ("project", "workflow", "solution")
SECRET_FIELDS = ("client_secret",)
# Not part of a fingerprint: what a service is called and shown as, whose OAuth app it is, and
# what is known of its token lifetimes. The fingerprint says how the API is reached and
# authenticated, so two organizations' definitions of the same API match.
FINGERPRINT_EXCLUDED = {
    "slug",
    "name",
    "icon",
    "description",
    "documentation_url",
    "client_id",
    "umbrella_status",
    "access_token_lifetime",
    "refresh_token_max_age",
    "refresh_token_idle_timeout",
    "test_refresh_token_lifetime",
    "test_exempt_scopes",
}
# A workflow's bundle id is derived from its project's bundle id and its name (a project's
# workflow rows are replaced on every change, so their ids are not stable), so exporting it twice
# gives the same id and importing it again updates what the first import made.
WORKFLOW_NAMESPACE = uuid.UUID("9a4c1f0e-6b2d-4f43-8f0e-2d6f5b7c1a90")


@cache
def bundle_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator():
    return jsonschema_rs.validator_for(bundle_schema())


def _path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def bundle_schema_errors(document) -> list[tuple[str, str]]:
    """(field path, message) of every way the document breaks the schema: unknown fields first,
    each named by its own path (`auth_slots[0].colour`), then missing fields (named the same
    way), then the rest, each group in path order."""
    unknown, missing, other = set(), set(), set()
    for error in _validator().iter_errors(document):
        path = _path(error.instance_path)
        kind = type(error.kind).__name__
        if kind == "AdditionalProperties":
            for name in error.kind.unexpected:
                field = f"{path}.{name}" if path else str(name)
                unknown.add((field, "not a field of a bundle here; remove it."))
        elif kind == "Required":
            name = error.kind.property
            missing.add((f"{path}.{name}" if path else str(name), "required; add it."))
        else:
            # The message may quote the offending value, which can be long: keep it readable.
            message = error.message if len(error.message) <= 300 else error.message[:297] + "…"
            other.add((path or "bundle", message))
    return sorted(unknown) + sorted(missing) + sorted(other)


def bundle_schema_check(document) -> None:
    """Raise RuleViolation naming the first field that breaks the schema."""
    errors = bundle_schema_errors(document)
    if errors:
        field, message = errors[0]
        raise RuleViolation(f"{field}: {message}", field=field, code="invalid_bundle")


def bundle_dumps(bundle: dict) -> str:
    """The bundle's bytes: the same bundle always gives the same text."""
    return json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def definition_fingerprint(definition: dict) -> str:
    """How the API is reached and authenticated, as a short digest (see FINGERPRINT_EXCLUDED)."""
    return _digest({k: v for k, v in definition.items() if k not in FINGERPRINT_EXCLUDED})


def service_fingerprint(service: Service) -> str:
    return definition_fingerprint(definition_from_service(service))


def catalog_version(service: Service) -> str:
    """A connector's version: a digest of its catalog entry as loaded here."""
    return _digest(definition_from_service(service))


def service_entry(service: Service) -> dict:
    """How a bundle names one service."""
    if service.source == ServiceSource.CONNECTOR:
        return {
            "key": service.slug,
            "source": "connector",
            "name": service.name,
            "catalog_key": service.slug,
            "catalog_version": catalog_version(service),
        }
    definition = definition_from_service(service)
    return {
        "key": service.slug,
        "source": "custom",
        "name": service.name,
        "definition": definition,
        "fingerprint": definition_fingerprint(definition),
        "secrets_required": [f for f in SECRET_FIELDS if getattr(service, f) is not None],
    }


def _services(actor: Actor, service_ids) -> dict[str, Service]:
    """The rows of the services a snapshot names, by id, each one the actor may export."""
    services = {
        str(s.pk): s
        for s in Service.objects.filter(pk__in=set(service_ids)).filter(organization__isnull=True)
        | Service.objects.filter(pk__in=set(service_ids), organization=actor.organization)
    }
    for service_id in service_ids:
        service = services.get(str(service_id))
        if service is None:
            raise NotFound("Service not found.")
        if service.source == ServiceSource.CUSTOM and not may_manage_custom_service(
            actor=actor, service=service
        ):
            raise NotAllowed(
                f"The bundle would hold the full definition of the custom service "
                f"'{service.name}', which only its owner, the organization owner and admins see; "
                "ask one of them to export it."
            )
    return services


def bundle_from_snapshot(
    *,
    actor: Actor,
    kind: str,
    bundle_id,
    name: str,
    description: str,
    snapshot: dict,
    solution: dict | None = None,
) -> dict:
    """A bundle from a snapshot in the shape projects.definitions.project_snapshot gives (a
    release's snapshot has that shape too). Checked against the schema before it is returned."""
    slots = snapshot["auth_slots"]
    services = _services(actor, [slot["service"] for slot in slots])
    entries = {}
    for slot in slots:
        service = services[str(slot["service"])]
        entries[service.slug] = service_entry(service)
    bundle = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "kind": kind,
        "id": str(bundle_id),
        "name": name,
        "description": description or "",
        "services": [entries[key] for key in sorted(entries)],
        "auth_slots": [
            {
                "external_id": slot["external_id"],
                "title": slot["title"],
                "service": services[str(slot["service"])].slug,
                "scopes": list(slot["scopes"]),
                "hidden": bool(slot["hidden"]),
                "static": bool(slot["static_authentication"]),
                "force_unique": bool(slot["force_unique"]),
            }
            for slot in slots
        ],
        "config_slots": [
            {key: slot[key] for key in CONFIG_SLOT_KEYS} for slot in snapshot["config_slots"]
        ],
        "workflows": [
            {
                "name": workflow["name"],
                "description": workflow["description"] or "",
                "steps": workflow["steps"],
            }
            for workflow in snapshot["workflows"]
        ],
    }
    if solution is not None:
        bundle["solution"] = solution
    bundle_schema_check(bundle)
    return bundle


def bundle_export_record(*, actor: Actor, bundle: dict) -> dict:
    """Record an export made from a snapshot (a solution's release: embedded/solution_bundles)."""
    return _recorded(actor, bundle)


def project_bundle_id(project: Project) -> uuid.UUID:
    """A project imported from a bundle keeps that bundle's id, so promoting it onward (dev →
    staging → prod) is still the same bundle; a project made here is its own bundle."""
    return project.bundle_id or project.pk


def workflow_bundle_id(project: Project, workflow: Workflow) -> uuid.UUID:
    return uuid.uuid5(WORKFLOW_NAMESPACE, f"{project_bundle_id(project)}/{workflow.name}")


def _recorded(actor: Actor, bundle: dict) -> dict:
    organization_event_record(
        organization_id=actor.organization.pk,
        kind=EventKind.BUNDLE_EXPORTED,
        message=f"{bundle['kind'].capitalize()} bundle '{bundle['name']}' exported by "
        f"{actor.label}.",
        data={"bundle_id": bundle["id"], "kind": bundle["kind"], "name": bundle["name"]},
    )
    return bundle


def _require_same_organization(actor: Actor, project: Project) -> None:
    if project.organization_id != actor.organization.pk:
        raise NotFound("Project not found.")


def project_bundle(*, actor: Actor, project: Project) -> dict:
    _require_same_organization(actor, project)
    bundle = bundle_from_snapshot(
        actor=actor,
        kind="project",
        bundle_id=project_bundle_id(project),
        name=project.name,
        description=project.description,
        snapshot=project_snapshot(project),
    )
    return _recorded(actor, bundle)


def workflow_bundle(*, actor: Actor, project: Project, workflow: Workflow) -> dict:
    """One workflow with the auth and config slots it uses (slots it does not name stay out)."""
    _require_same_organization(actor, project)
    if workflow.project_id != project.pk:
        raise NotFound("Workflow not found.")
    snapshot = project_snapshot(project)
    used_auth = {step.get("auth_slot") for step in workflow.steps or []}
    named = set(placeholders_in(json.dumps(workflow.steps or [])))
    used_config = {
        s["external_id"] for s in snapshot["config_slots"] if f"config.{s['external_id']}" in named
    }
    snapshot = {
        "auth_slots": [s for s in snapshot["auth_slots"] if s["external_id"] in used_auth],
        "config_slots": [s for s in snapshot["config_slots"] if s["external_id"] in used_config],
        "workflows": [
            {"name": workflow.name, "description": workflow.description, "steps": workflow.steps}
        ],
    }
    bundle = bundle_from_snapshot(
        actor=actor,
        kind="workflow",
        bundle_id=workflow_bundle_id(project, workflow),
        name=workflow.name,
        description=workflow.description,
        snapshot=snapshot,
    )
    return _recorded(actor, bundle)
