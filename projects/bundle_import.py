"""Importing a bundle (projects/bundles.py) into a workspace: the ordinary import and the
custom-service import (plan, then apply).

A bundle is untrusted input. `bundle_parse` bounds its size and depth, refuses what the schema
does not allow naming the field (`auth_slots[0].colour`), checks its references, and checks every
custom service definition in it as if the importer had typed it (services.validation: https, no
credentials in URLs, declared placeholders, the egress rules on hosts). No URL in a bundle is
called while it is parsed, planned or imported.

Resolving what a bundle needs in the importer's organization:

- a **connector** by its catalog key (a newer or older catalog version is a warning);
- a **custom service** by the mapping remembered for this bundle and workspace, else the one
  custom service of the organization with the same definition fingerprint; otherwise it is
  *missing*. The ordinary import refuses a bundle with a missing custom service, naming each one
  and pointing to the custom-service import;
- the custom-service import takes **choices**: per custom service, `{"use": "<service id>"}` or
  `{"create": {"client_secret": "…", ...}}` (created from the bundle's definition where the edition
  rules allow: services.rules); per static auth slot, the authentication to bind (or null);
- a **static auth slot** (one shared authentication) is bound to the authentication chosen, else
  the one remembered for this bundle and slot, else one of the slot's service whose scopes are
  exactly the slot's, else one with more scopes (warned). An authentication lacking the slot's
  scopes is listed with a warning but never bound. With none, the slot is imported unbound and
  the result says so (a service just created has no authentications yet). Other auth slots get
  their authentications per instance (the config wizard), so nothing is bound to them here.

`bundle_import` writes everything in one transaction: services created, the project created or
updated (the same bundle id in the same workspace updates it, keeping its previous definition as
a ProjectVersion for rollback), the mapping remembered, the event recorded. A refusal anywhere
leaves nothing behind.
"""

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q

from auths.selectors import authentication_list_for_actor
from events.models import EventKind
from events.recording import organization_event_record
from infrastructure.errors import DomainError, NotFound, RuleViolation
from infrastructure.ids import uuid_required
from infrastructure.parsers import nul_path
from projects.bundles import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    bundle_schema_check,
    catalog_version,
    definition_fingerprint,
)
from projects.models import BundleMapping, Project, ProjectVersion
from projects.projects import (
    project_create,
    project_update,
    project_version_keep,
    require_may_manage_project,
)
from services.custom_services import custom_service_create, definition_from_service
from services.models import Service, ServiceSource
from services.rules import require_may_create_custom_service
from services.selectors import service_list_for_actor
from services.validation import (
    DEFINITION_FIELDS,
    DefinitionInvalid,
    definition_validate,
    fixed_host_part,
)
from workspaces.access import Actor, asset_workspace
from workspaces.models import Workspace, WorkspaceKind

MAX_BUNDLE_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 100_000
CREATE_KEYS = {"client_secret", "client_id", "name", "slug"}
CUSTOM_SERVICE_IMPORT = (
    "Run the custom-service import instead: plan it (POST …/bundles/plan/, or "
    "`manage.py import_bundle … --plan`) to choose an existing service or create one from the "
    "bundle's definition, then apply the choices."
)


def _fail(field: str, message: str, code: str = "invalid_bundle"):
    raise RuleViolation(f"{field}: {message}", field=field, code=code)


# --- parsing -------------------------------------------------------------------------------------


def _children(value):
    if isinstance(value, dict):
        return value.items()
    if isinstance(value, list):
        return enumerate(value)
    return ()


def _too_deep_path(document) -> str:
    """Where the document first nests deeper than MAX_DEPTH (only called when it does)."""
    stack = [(document, 1, "bundle")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path
        for key, item in _children(value):
            if isinstance(item, dict | list) or depth + 1 > MAX_DEPTH:
                part = f"[{key}]" if isinstance(value, list) else f".{key}"
                stack.append((item, depth + 1, path + part))
    return "bundle"  # pragma: no cover - only called for a document that is too deep


def _shape_checked(document) -> None:
    """Depth and size, without recursion (a hostile document may nest thousands deep), and
    without building a path per value (paths only for the refusal)."""
    stack, nodes = [(document, 1)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            _fail("bundle", f"a bundle has at most {MAX_NODES:,} values; this one has more.")
        if depth > MAX_DEPTH:
            _fail(
                _too_deep_path(document),
                f"nested deeper than {MAX_DEPTH} levels; a bundle is never that deep.",
            )
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _not_a_number(constant):
    raise ValueError(f"{constant} is not a JSON number")


def bundle_parse(raw) -> dict:
    """The bundle from its text (bytes or str) or from JSON already parsed (the API's body):
    checked for size, depth, format and version, schema, references and definitions. Raises
    RuleViolation naming the field; reads nothing of the database."""
    if isinstance(raw, bytes | bytearray | str):
        if len(raw) > MAX_BUNDLE_BYTES:
            _fail("bundle", f"a bundle is at most {MAX_BUNDLE_BYTES:,} bytes.")
        try:
            document = json.loads(raw, parse_constant=_not_a_number)
        except RecursionError:
            _fail("bundle", f"nested deeper than {MAX_DEPTH} levels; a bundle is never that deep.")
        except (ValueError, UnicodeDecodeError) as error:
            _fail("bundle", f"not a JSON document ({str(error)[:200]}).")
    else:
        document = raw
    _shape_checked(document)
    try:
        size = len(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError):
        _fail("bundle", "not a JSON document (numbers must be finite).")
    if size > MAX_BUNDLE_BYTES:
        _fail("bundle", f"a bundle is at most {MAX_BUNDLE_BYTES:,} bytes.")
    where = nul_path(document)
    if where is not None:
        _fail(where or "bundle", "contains a NUL character (\\u0000), which no text can hold.")
    if not isinstance(document, dict):
        _fail("bundle", "a bundle is a JSON object, as `export_bundle` writes it.")
    if document.get("format") != BUNDLE_FORMAT:
        _fail("format", f'not a bundle: a bundle says "format": "{BUNDLE_FORMAT}".')
    version = document.get("version")
    if version != BUNDLE_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > 0:
            _fail(
                "version",
                f"this platform reads bundle format version {BUNDLE_VERSION}, not {version}; "
                "export it again from a platform of the same version, or upgrade this one.",
            )
        _fail("version", f"give the bundle format version, {BUNDLE_VERSION}.")
    bundle_schema_check(document)
    _references_checked(document)
    return document


def _references_checked(bundle: dict) -> None:
    keys: dict[str, int] = {}
    for index, entry in enumerate(bundle["services"]):
        if entry["key"] in keys:
            _fail(
                f"services[{index}].key",
                f"'{entry['key']}' is also the key of services[{keys[entry['key']]}]; keys are "
                "unique.",
            )
        keys[entry["key"]] = index
    for index, slot in enumerate(bundle["auth_slots"]):
        if slot["service"] not in keys:
            _fail(
                f"auth_slots[{index}].service",
                f"'{slot['service']}' is not the key of a service in the bundle's services.",
            )


def _definition_values(definition: dict) -> dict:
    values = {f: Service._meta.get_field(f).get_default() for f in DEFINITION_FIELDS}
    values.update(definition)
    return values


def bundle_definitions_check(*, actor: Actor, bundle: dict) -> None:
    """Every custom service definition of the bundle, checked as if the importer typed it: the
    URL rules and the organization's egress policy (hosts resolved, never called). The client
    credentials are checked when a service is created from it, with the secret the importer
    gives."""
    for index, entry in enumerate(bundle["services"]):
        if entry["source"] != "custom":
            continue
        try:
            definition_validate(
                values=_definition_values(entry["definition"]),
                organization=actor.organization,
                require_client=False,
            )
        except DomainError as error:
            where = f"services[{index}].definition"
            inner = error.field or ""
            message = error.message
            if inner and message.startswith(f"{inner}: "):
                message = message[len(inner) + 2 :]
            _fail(f"{where}.{inner}" if inner else where, message)


# --- choices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the importer chose: per service key "use" (a Service) or "create" (a dict of the
    create options); per static slot an authentication id, or None to leave it unbound."""

    use: dict = field(default_factory=dict)
    create: dict = field(default_factory=dict)
    auths: dict = field(default_factory=dict)


def choices_clean(*, actor: Actor, bundle: dict, choices) -> Choices:
    """The choices, shape-checked against the bundle; unknown fields refused with their path."""
    if choices is None:
        return Choices()
    if not isinstance(choices, dict):
        _fail("choices", 'give {"services": {…}, "auths": {…}}.', code="invalid_choices")
    unknown = sorted(set(choices) - {"services", "auths"})
    if unknown:
        _fail(f"choices.{unknown[0]}", "not a field of the choices; remove it.", "invalid_choices")
    entries = {e["key"]: e for e in bundle["services"]}
    use, create = {}, {}
    services = choices.get("services") or {}
    if not isinstance(services, dict):
        _fail("choices.services", 'give {"<service key>": {"use": "<id>"}}.', "invalid_choices")
    for key, choice in services.items():
        where = f"choices.services.{key}"
        if key not in entries:
            _fail(where, f"the bundle has no service '{key}'.", "invalid_choices")
        if (
            not isinstance(choice, dict)
            or len(choice) != 1
            or next(iter(choice))
            not in (
                "use",
                "create",
            )
        ):
            _fail(
                where,
                'give {"use": "<id of a service>"} or {"create": {"client_secret": "…"}}.',
                "invalid_choices",
            )
        if "use" in choice:
            service = (
                service_list_for_actor(actor=actor)
                .filter(pk=_uuid(choice["use"], f"{where}.use"))
                .first()
            )
            if service is None:
                raise NotFound("Service not found.", field=f"{where}.use")
            use[key] = service
            continue
        options = choice["create"]
        if entries[key]["source"] != "custom":
            _fail(
                f"{where}.create",
                "a connector comes from the catalog; only custom services are created.",
                "invalid_choices",
            )
        if not isinstance(options, dict):
            _fail(f"{where}.create", 'give {"client_secret": "…"} or {}.', "invalid_choices")
        for name, value in options.items():
            if name not in CREATE_KEYS:
                _fail(
                    f"{where}.create.{name}",
                    f"not an option of a creation (the options are {', '.join(sorted(CREATE_KEYS))}).",
                    "invalid_choices",
                )
            if not isinstance(value, str) or len(value) > 5000:
                _fail(f"{where}.create.{name}", "give text.", "invalid_choices")
        create[key] = dict(options)
    auths = choices.get("auths") or {}
    if not isinstance(auths, dict):
        _fail("choices.auths", 'give {"<slot external id>": "<id>"}.', "invalid_choices")
    slots = {s["external_id"]: s for s in bundle["auth_slots"]}
    cleaned_auths = {}
    for slot_id, auth_id in auths.items():
        where = f"choices.auths.{slot_id}"
        if slot_id not in slots:
            _fail(where, f"the bundle has no auth slot '{slot_id}'.", "invalid_choices")
        if not slots[slot_id]["static"]:
            _fail(
                where,
                "only a static slot (one shared authentication) is bound at import; the others "
                "get their authentications per instance.",
                "invalid_choices",
            )
        cleaned_auths[slot_id] = None if auth_id is None else str(_uuid(auth_id, where))
    return Choices(use=use, create=create, auths=cleaned_auths)


def _uuid(value, where: str):
    return uuid_required(value, field=where, what="a service or an authentication")


# --- resolving -----------------------------------------------------------------------------------


def _token_host(definition: dict) -> str:
    url = definition.get("token_url") or ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return fixed_host_part(host).strip(".").lower()


def _custom_candidates(actor: Actor, entry: dict) -> list[dict]:
    """Existing custom services that could stand for the bundle's: the same definition
    fingerprint first, then the same name or the same token URL host."""
    definition = _definition_values(entry["definition"])
    fingerprint = definition_fingerprint(definition)
    name = definition.get("name", "").strip().lower()
    host = _token_host(definition)
    same, similar = [], []
    for service in service_list_for_actor(actor=actor, source=ServiceSource.CUSTOM).order_by(
        "name", "pk"
    ):
        theirs = definition_from_service(service)
        candidate = {"id": str(service.pk), "name": service.name, "slug": service.slug}
        if definition_fingerprint(theirs) == fingerprint:
            same.append({**candidate, "match": "fingerprint"})
        elif service.name.strip().lower() == name:
            similar.append({**candidate, "match": "name"})
        elif host and _token_host(theirs) == host:
            similar.append({**candidate, "match": "token_host"})
    return same + similar


def _mapping(workspace: Workspace, bundle_id) -> BundleMapping | None:
    return BundleMapping.objects.filter(workspace=workspace, bundle_id=bundle_id).first()


def service_home(*, actor: Actor, workspace: Workspace) -> Workspace:
    """Where a custom service created by this import goes: the embedded workspace when importing
    into it, else where the actor's custom services go (their personal workspace). Whether the
    actor may create there is services.rules' to say."""
    if workspace.kind == WorkspaceKind.EMBEDDED:
        return workspace
    return asset_workspace(actor=actor)


def _create_refusal(actor: Actor, workspace: Workspace) -> DomainError | None:
    """Why the actor may not create a custom service for this import (the rule, as
    services.rules words it), or None."""
    try:
        require_may_create_custom_service(
            actor=actor, workspace=service_home(actor=actor, workspace=workspace)
        )
    except DomainError as error:
        return error
    return None


@dataclass
class Resolution:
    """Per service key: the Service it is (`services`), the creation asked (`create`), or missing;
    per static slot the authentication to bind (None: unbound); the plan's words."""

    services: dict = field(default_factory=dict)
    create: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    auths: dict = field(default_factory=dict)
    plan_services: list = field(default_factory=list)
    plan_auths: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def _remembered_service(actor: Actor, mapping: BundleMapping | None, key: str):
    service_id = (mapping.services if mapping else {}).get(key)
    if not service_id:
        return None
    return service_list_for_actor(actor=actor).filter(pk=service_id).first()


def _resolve_services(actor, workspace, bundle, choices, mapping, result: Resolution) -> None:
    refusal = None
    refusal_known = False
    for entry in bundle["services"]:
        key = entry["key"]
        plan = {"key": key, "name": entry["name"], "source": entry["source"]}
        if entry["source"] == "connector":
            connector = Service.objects.filter(
                source=ServiceSource.CONNECTOR, slug=entry["catalog_key"]
            ).first()
            chosen = choices.use.get(key)
            service = chosen or connector
            if service is None:
                result.missing.append(
                    (
                        key,
                        f"the connector '{entry['catalog_key']}' is not in this platform's catalog",
                    )
                )
                plan.update(status="missing", candidates=[])
            else:
                plan.update(
                    status="resolved", service={"id": str(service.pk), "name": service.name}
                )
                result.services[key] = service
                if chosen is None and catalog_version(connector) != entry["catalog_version"]:
                    warning = (
                        f"The connector '{connector.name}' here is another catalog version than "
                        "the bundle's; check the imported steps against it."
                    )
                    plan["warning"] = warning
                    result.warnings.append(warning)
            result.plan_services.append(plan)
            continue
        candidates = _custom_candidates(actor, entry)
        remembered = _remembered_service(actor, mapping, key)
        if not refusal_known:
            refusal, refusal_known = _create_refusal(actor, workspace), True
        plan.update(
            fingerprint=definition_fingerprint(_definition_values(entry["definition"])),
            candidates=candidates,
            remembered=str(remembered.pk) if remembered else None,
            can_create=refusal is None,
            create_refused=refusal.message if refusal else None,
            secrets_required=list(entry["secrets_required"]),
        )
        same = [c for c in candidates if c["match"] == "fingerprint"]
        if key in choices.use:
            service = choices.use[key]
            result.services[key] = service
            plan.update(status="chosen", service={"id": str(service.pk), "name": service.name})
        elif key in choices.create:
            if refusal is not None:
                raise type(refusal)(
                    f"choices.services.{key}.create: {refusal.message}",
                    field=f"choices.services.{key}.create",
                    code="custom_service_rule",
                )
            result.create[key] = choices.create[key]
            plan.update(status="create")
        elif remembered is not None:
            result.services[key] = remembered
            if definition_fingerprint(definition_from_service(remembered)) != plan["fingerprint"]:
                warning = (
                    f"The bundle's definition of '{entry['name']}' ({key}) differs from "
                    f"'{remembered.name}', the service it was mapped to last time; check that "
                    "service's URLs and scopes against the bundle."
                )
                plan["warning"] = warning
                result.warnings.append(warning)
            plan.update(
                status="remembered", service={"id": str(remembered.pk), "name": remembered.name}
            )
        elif len(same) == 1:
            service = Service.objects.get(pk=same[0]["id"])
            result.services[key] = service
            plan.update(
                status="same_definition", service={"id": same[0]["id"], "name": service.name}
            )
        elif same:
            names = ", ".join(f"'{c['name']}'" for c in same)
            result.missing.append(
                (
                    key,
                    f"the custom service '{entry['name']}' ({key}), whose definition several of "
                    f"this organization's services share ({names}): choose one",
                )
            )
            plan.update(status="missing")
        else:
            result.missing.append(
                (
                    key,
                    f"the custom service '{entry['name']}' ({key}), which this organization "
                    "cannot see",
                )
            )
            plan.update(status="missing")
        result.plan_services.append(plan)


def _auth_candidates(actor: Actor, service: Service, scopes: list[str]) -> list[dict]:
    wanted = set(scopes)
    matching, more, lacking = [], [], []
    auths = (
        authentication_list_for_actor(actor=actor)
        .filter(service=service, end_user__isnull=True)
        .order_by("name", "pk")
    )
    for auth in auths:
        have = set(auth.scopes or [])
        candidate = {"id": str(auth.pk), "name": auth.name, "scopes": sorted(have)}
        if have == wanted:
            matching.append({**candidate, "match": "matching"})
        elif have >= wanted:
            more.append(
                {
                    **candidate,
                    "match": "other_scopes",
                    "warning": f"'{auth.name}' has scopes beyond the slot's "
                    f"({', '.join(sorted(have - wanted))}).",
                }
            )
        else:
            lacking.append(
                {
                    **candidate,
                    "match": "missing_scopes",
                    "warning": f"'{auth.name}' lacks the slot's scopes "
                    f"{', '.join(sorted(wanted - have))}; re-authenticate it with them to use it.",
                }
            )
    return matching + more + lacking


def _resolve_auths(actor, bundle, choices, mapping, result: Resolution) -> None:
    remembered = mapping.auths if mapping else {}
    for slot in bundle["auth_slots"]:
        external_id = slot["external_id"]
        plan = {
            "external_id": external_id,
            "service": slot["service"],
            "scopes": list(slot["scopes"]),
            "static": slot["static"],
        }
        result.plan_auths.append(plan)
        if not slot["static"]:
            plan["binding"] = "per_instance"
            continue
        service = result.services.get(slot["service"])
        candidates = _auth_candidates(actor, service, slot["scopes"]) if service else []
        usable = [c for c in candidates if c["match"] != "missing_scopes"]
        plan.update(candidates=candidates, remembered=remembered.get(external_id))
        chosen, how = None, None
        if external_id in choices.auths:
            chosen, how = choices.auths[external_id], "chosen"
        elif remembered.get(external_id) in {c["id"] for c in usable}:
            chosen, how = remembered[external_id], "remembered"
        elif usable:
            chosen, how = usable[0]["id"], usable[0]["match"]
            if usable[0].get("warning"):
                result.warnings.append(f"Auth slot '{external_id}': {usable[0]['warning']}")
        plan.update(binding=how or "unbound", authentication=chosen)
        if chosen is None:
            result.warnings.append(
                f"Auth slot '{external_id}' is static (one shared authentication) and is imported "
                f"unbound: create an authentication of the slot's service, then import again or "
                "set it on the project."
            )
        result.auths[external_id] = chosen


def _resolve(*, actor, workspace, bundle, choices: Choices) -> Resolution:
    mapping = _mapping(workspace, bundle["id"])
    result = Resolution()
    _resolve_services(actor, workspace, bundle, choices, mapping, result)
    _resolve_auths(actor, bundle, choices, mapping, result)
    return result


def _existing_project(workspace: Workspace, bundle_id) -> Project | None:
    return (
        Project.objects.filter(workspace=workspace)
        .filter(Q(bundle_id=bundle_id) | Q(pk=bundle_id, bundle_id__isnull=True))
        .first()
    )


# --- plan ----------------------------------------------------------------------------------------


def _require_importer(actor: Actor, workspace: Workspace) -> None:
    if workspace.organization_id != actor.organization.pk:
        raise NotFound("Workspace not found.", field="workspace")
    require_may_manage_project(actor=actor, workspace=workspace)


def bundle_plan(*, actor: Actor, workspace: Workspace, bundle: dict, choices=None) -> dict:
    """What importing the (parsed) bundle into the workspace would do, writing nothing: each
    service resolved, missing (with candidates and whether one may be created here), each static
    slot's candidate authentications, and whether an ordinary import would go through."""
    _require_importer(actor, workspace)
    bundle_definitions_check(actor=actor, bundle=bundle)
    cleaned = choices_clean(actor=actor, bundle=bundle, choices=choices)
    result = _resolve(actor=actor, workspace=workspace, bundle=bundle, choices=cleaned)
    existing = _existing_project(workspace, bundle["id"])
    return {
        "bundle": {
            "id": bundle["id"],
            "kind": bundle["kind"],
            "name": bundle["name"],
            "version": bundle["version"],
        },
        "workspace": str(workspace.pk),
        "project": {
            "action": "update" if existing else "create",
            "id": str(existing.pk) if existing else None,
        },
        "services": result.plan_services,
        "auth_slots": result.plan_auths,
        "will_create": sorted(result.create),
        "missing": [key for key, _ in result.missing],
        "ready": not result.missing,
        "warnings": result.warnings,
    }


# --- import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    project: Project
    created: bool
    services_created: list
    version_kept: ProjectVersion | None
    warnings: list


def _created_service(actor: Actor, workspace: Workspace, entry: dict, options: dict) -> Service:
    definition = dict(entry["definition"])
    for name in ("client_id", "name", "slug"):
        if options.get(name):
            definition[name] = options[name]
    try:
        return custom_service_create(
            actor=actor,
            definition=definition,
            client_secret=options.get("client_secret") or None,
            workspace=service_home(actor=actor, workspace=workspace),
        )
    except DomainError as error:
        where = f"choices.services.{entry['key']}.create"
        # Re-raised as its own kind with the place in the choices; a definition's problems (whose
        # class is built from a list of problems) as the rule violation they are.
        kind = RuleViolation if isinstance(error, DefinitionInvalid) else type(error)
        raise kind(
            f"{where}: creating '{entry['name']}' was refused: {error.message}",
            field=f"{where}.{error.field}" if error.field else where,
            code=error.code,
        ) from None


def _definition_input(bundle: dict, services: dict, auths: dict) -> dict:
    return {
        "auth_slots": [
            {
                "external_id": slot["external_id"],
                "title": slot["title"],
                "service": str(services[slot["service"]].pk),
                "scopes": list(slot["scopes"]),
                "hidden": slot["hidden"],
                "static_authentication": auths.get(slot["external_id"]) if slot["static"] else None,
                "force_unique": slot["force_unique"],
            }
            for slot in bundle["auth_slots"]
        ],
        "config_slots": [dict(slot) for slot in bundle["config_slots"]],
        "workflows": [dict(workflow) for workflow in bundle["workflows"]],
    }


def _missing_refusal(missing: list) -> RuleViolation:
    named = "; ".join(why for _, why in missing)
    return RuleViolation(
        f"services: the bundle needs {named}. {CUSTOM_SERVICE_IMPORT}",
        field="services",
        code="custom_service_missing",
    )


@transaction.atomic
def bundle_import(
    *, actor: Actor, workspace: Workspace, bundle: dict, choices=None
) -> ImportResult:
    """Import the (parsed) bundle into the workspace: the ordinary import without choices, the
    custom-service import with them. All or nothing."""
    _require_importer(actor, workspace)
    bundle_definitions_check(actor=actor, bundle=bundle)
    cleaned = choices_clean(actor=actor, bundle=bundle, choices=choices)
    mapping = _mapping(workspace, bundle["id"])
    result = Resolution()
    _resolve_services(actor, workspace, bundle, cleaned, mapping, result)
    if result.missing:
        raise _missing_refusal(result.missing)
    entries = {entry["key"]: entry for entry in bundle["services"]}
    created_services = []
    for key in sorted(result.create):
        service = _created_service(actor, workspace, entries[key], result.create[key])
        result.services[key] = service
        created_services.append(service)
    _resolve_auths(actor, bundle, cleaned, mapping, result)
    services = result.services
    definition = _definition_input(bundle, services, result.auths)
    existing = _existing_project(workspace, bundle["id"])
    version = None
    if existing is not None:
        existing = Project.objects.select_for_update().get(pk=existing.pk)
        version = project_version_keep(
            actor=actor, project=existing, reason=f"before importing bundle {bundle['id']}"
        )
        project = project_update(
            actor=actor,
            project=existing,
            name=bundle["name"],
            description=bundle["description"],
            **definition,
        )
    else:
        project = project_create(
            actor=actor,
            workspace=workspace,
            name=bundle["name"],
            description=bundle["description"],
            **definition,
        )
        project.bundle_id = bundle["id"]
        project.save(update_fields=["bundle_id", "updated_at"])
    BundleMapping.objects.update_or_create(
        workspace=workspace,
        bundle_id=bundle["id"],
        defaults={
            "organization": actor.organization,
            "services": {key: str(service.pk) for key, service in services.items()},
            "auths": {slot: auth for slot, auth in result.auths.items() if auth},
            "updated_by": actor.user,
        },
    )
    organization_event_record(
        organization_id=actor.organization.pk,
        kind=EventKind.BUNDLE_IMPORTED,
        message=f"{bundle['kind'].capitalize()} bundle '{bundle['name']}' imported into "
        f"'{workspace.name}' by {actor.label}.",
        data={
            "bundle_id": bundle["id"],
            "kind": bundle["kind"],
            "name": bundle["name"],
            "workspace_id": str(workspace.pk),
            "project_id": str(project.pk),
            "action": "update" if existing is not None else "create",
            "services_created": [str(s.pk) for s in created_services],
            "warnings": result.warnings,
        },
    )
    return ImportResult(
        project=project,
        created=existing is None,
        services_created=created_services,
        version_kept=version,
        warnings=result.warnings,
    )
