"""Project definitions: the auth slots, config slots and workflows a project declares, checked as a
whole before anything is written, and the snapshot a solution's release freezes.

Input is plain data (the API's JSON, the admin's rows), one list per part; `definition_clean`
returns it cleaned, with services and static authentications resolved to rows, or raises
RuleViolation naming the exact field (`auth_slots[1].scopes`, `workflows[0].steps[2].request.path`).

The rules:
- external ids are slugs, unique across the project's auth slots *and* config slots (the wizard,
  the embedded API and bundles name slots by them);
- an auth slot's service is one the actor can pick (a connector, or a custom service of the
  organization: services.selectors), and its scopes are some of those the service declares;
- a static slot's authentication is one of the organization's, not an end user's, on the slot's
  service, with the slot's scopes;
- a config slot's default is a value of its type (projects.config_values); choices belong to
  select and multiselect slots only, which need them; a pattern belongs to string slots only and
  must compile in RE2 (patterns come from people: infrastructure.user_patterns);
- a workflow step names an auth slot of the project and an HTTP request template: a method, a
  path under the service's base URL, optional query, headers and JSON body, none of them carrying
  the credentials the platform injects; every `{{config.<external_id>}}` names a config slot and
  any other `{{placeholder}}` a public parameter of the slot's service.
"""

import json
import re
import uuid
from dataclasses import dataclass
from math import isfinite
from typing import NoReturn

from auths.models import Authentication
from auths.selectors import authentication_list_for_actor
from connections.http_client import HEADER_NAME, credential_names
from infrastructure.errors import RuleViolation
from infrastructure.text import name_check
from infrastructure.user_patterns import PatternError, pattern_compile
from projects.config_values import config_value_clean
from projects.models import ConfigType
from services.models import Service
from services.selectors import service_list_for_actor
from services.validation import placeholders_in
from workspaces.access import Actor

SLUG = re.compile(r"[-a-zA-Z0-9_]+")
MAX_EXTERNAL_ID_LENGTH = 100
MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 10_000
MAX_PATH_LENGTH = 2000
MAX_CHOICES = 500
MAX_BODY_LENGTH = 65_536
# A project is a handful of slots and workflows; the caps bound the work of checking one.
MAX_AUTH_SLOTS = 50
MAX_CONFIG_SLOTS = 200
MAX_WORKFLOWS = 100
MAX_STEPS = 100
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SELECT_TYPES = (ConfigType.SELECT, ConfigType.MULTISELECT)
CONFIG_PREFIX = "config."

AUTH_SLOT_KEYS = {
    "external_id",
    "title",
    "service",
    "scopes",
    "hidden",
    "static_authentication",
    "force_unique",
}
CONFIG_SLOT_KEYS = {
    "external_id",
    "title",
    "help_text",
    "type",
    "required",
    "default",
    "choices",
    "pattern",
    "hidden",
}
WORKFLOW_KEYS = {"name", "description", "steps"}
STEP_KEYS = {"name", "auth_slot", "request"}
REQUEST_KEYS = {"method", "path", "query", "headers", "json"}


@dataclass(frozen=True)
class Definition:
    """A checked definition: lists in their order (their positions), model field values with the
    service and static authentication as rows."""

    auth_slots: list[dict]
    config_slots: list[dict]
    workflows: list[dict]


def _fail(field: str, message: str) -> NoReturn:
    raise RuleViolation(f"{field}: {message}", field=field)


# --- shapes --------------------------------------------------------------------------------------


def _list(value, field: str, *, most: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        _fail(field, "give a list.")
    if len(value) > most:
        _fail(field, f"a project has at most {most} of these; remove some.")
    return list(value)


def _object(value, field: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        _fail(field, f"give an object with {', '.join(sorted(keys))}.")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        _fail(
            f"{field}.{unknown[0]}", f"not a field here (the fields are {', '.join(sorted(keys))})."
        )
    return value


def _flag(item: dict, key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        _fail(f"{where}.{key}", "give true or false.")
    return value


def text_clean(value, field: str, *, most: int = MAX_TEXT_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        _fail(field, "give text.")
    if len(value) > most:
        _fail(field, f"give at most {most:,} characters.")
    if "\x00" in value:
        _fail(field, "remove the NUL character (\\u0000).")
    return value


def one_line_clean(value, field: str) -> str:
    """A title or a name: 1 to 200 characters on one line."""
    value = text_clean(value, field, most=MAX_TITLE_LENGTH).strip()
    if not value:
        _fail(field, f"give a name of 1 to {MAX_TITLE_LENGTH} characters.")
    return name_check(value, field=field, what=f"{field}")


def _external_id(value, field: str, seen: dict[str, str]) -> str:
    if (
        not isinstance(value, str)
        or not SLUG.fullmatch(value)
        or len(value) > MAX_EXTERNAL_ID_LENGTH
    ):
        _fail(
            field,
            f"give a slug of 1 to {MAX_EXTERNAL_ID_LENGTH} letters, digits, hyphens or "
            "underscores, e.g. crm_account.",
        )
    if value in seen:
        _fail(
            field,
            f"'{value}' is already the external id of {seen[value]}; external ids are unique "
            "across a project's auth and config slots, so choose another.",
        )
    return value


def _pk(value, field: str, what: str):
    """The id of a row given as the row itself (the admin) or as its id (the API)."""
    if value is None or value == "":
        return None
    if isinstance(value, Service | Authentication):
        return value.pk
    try:
        return uuid.UUID(str(value))
    except ValueError:
        _fail(field, f"give the id of {what}.")


# --- auth slots ----------------------------------------------------------------------------------


def _service(actor: Actor, value, field: str) -> Service:
    pk = _pk(value, field, "a service")
    service = service_list_for_actor(actor=actor).filter(pk=pk).first() if pk else None
    if service is None:
        _fail(
            field,
            "give the id of a service your organization can use: a catalog connector or one of "
            "its custom services.",
        )
    return service


def _scopes(service: Service, value, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        _fail(field, 'give a list of scope names, e.g. ["read"].')
    if len(set(value)) != len(value):
        _fail(field, "name each scope once.")
    available = service.scopes_available or []
    missing = [scope for scope in value if scope not in available]
    if missing and available:
        _fail(
            field,
            f"{service.name} does not offer {', '.join(missing)} (it offers "
            f"{', '.join(available)}); remove them, or add them to the service's scopes.",
        )
    if missing:
        _fail(field, f"{service.name} declares no scopes; leave the slot's scopes empty.")
    return list(value)


def _static_authentication(
    actor: Actor, service: Service, scopes: list[str], value, field: str
) -> Authentication | None:
    pk = _pk(value, field, "an authentication")
    if pk is None:
        return None
    auth = (
        authentication_list_for_actor(actor=actor)
        .filter(pk=pk, end_user__isnull=True)
        .select_related("service")
        .first()
    )
    if auth is None:
        _fail(
            field,
            "give the id of an authentication of your organization that you can see (an end "
            "user's authentication cannot be shared by a static slot).",
        )
    if auth.service_id != service.pk:
        _fail(
            field,
            f"'{auth.name}' is an authentication of {auth.service.name}, but the slot's service "
            f"is {service.name}; pick an authentication of {service.name}.",
        )
    missing = sorted(set(scopes) - set(auth.scopes or []))
    if missing:
        _fail(
            field,
            f"'{auth.name}' lacks the slot's scopes {', '.join(missing)}; re-authenticate it with "
            "them or pick another authentication.",
        )
    return auth


def _auth_slot_clean(actor: Actor, item, where: str, seen: dict[str, str]) -> dict:
    item = _object(item, where, AUTH_SLOT_KEYS)
    external_id = _external_id(item.get("external_id"), f"{where}.external_id", seen)
    title = one_line_clean(item.get("title"), f"{where}.title")
    service = _service(actor, item.get("service"), f"{where}.service")
    scopes = _scopes(service, item.get("scopes"), f"{where}.scopes")
    hidden = _flag(item, "hidden", where)
    force_unique = _flag(item, "force_unique", where)
    static = _static_authentication(
        actor, service, scopes, item.get("static_authentication"), f"{where}.static_authentication"
    )
    if static is not None and force_unique:
        _fail(
            f"{where}.force_unique",
            "a static slot uses one shared authentication, so it cannot also make each end user "
            "create their own; turn one of the two off.",
        )
    seen[external_id] = where
    return {
        "external_id": external_id,
        "title": title,
        "service": service,
        "scopes": scopes,
        "hidden": hidden,
        "static_authentication": static,
        "force_unique": force_unique,
    }


# --- config slots --------------------------------------------------------------------------------


def _choices(value, type_: str, field: str) -> list[str]:
    value = [] if value is None else value
    if type_ not in SELECT_TYPES:
        if value:
            _fail(field, "only select and multiselect slots have choices; remove them.")
        return []
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(c, str) and c.strip() for c in value)
    ):
        _fail(field, f'a {type_} slot needs a list of choices, e.g. ["eu", "us"].')
    if len(value) > MAX_CHOICES:
        _fail(field, f"give at most {MAX_CHOICES} choices.")
    if len(set(value)) != len(value):
        _fail(field, "give each choice once.")
    for index, choice in enumerate(value):
        text_clean(choice, f"{field}[{index}]", most=MAX_TITLE_LENGTH)
    return list(value)


def _pattern(value, type_: str, field: str) -> str:
    value = text_clean(value, field)
    if not value:
        return ""
    if type_ != ConfigType.STRING:
        _fail(field, "only string slots have a pattern; remove it.")
    try:
        pattern_compile(value)
    except PatternError as error:
        _fail(field, f"this pattern cannot be used ({error}); write it in RE2 syntax.")
    return value


def _config_slot_clean(item, where: str, seen: dict[str, str]) -> dict:
    item = _object(item, where, CONFIG_SLOT_KEYS)
    external_id = _external_id(item.get("external_id"), f"{where}.external_id", seen)
    type_ = item.get("type") or ConfigType.STRING
    if type_ not in ConfigType.values:
        _fail(f"{where}.type", f"choose one of {', '.join(ConfigType.values)}.")
    slot = {
        "external_id": external_id,
        "title": one_line_clean(item.get("title"), f"{where}.title"),
        "help_text": text_clean(item.get("help_text"), f"{where}.help_text"),
        "type": str(type_),
        "required": _flag(item, "required", where),
        "default": None,
        "choices": _choices(item.get("choices"), type_, f"{where}.choices"),
        "pattern": _pattern(item.get("pattern"), type_, f"{where}.pattern"),
        "hidden": _flag(item, "hidden", where),
    }
    default = item.get("default")
    if default is not None:
        try:
            slot["default"] = config_value_clean(slot=slot, value=default)
        except RuleViolation as error:
            _fail(f"{where}.default", error.message)
    seen[external_id] = where
    return slot


# --- workflows -----------------------------------------------------------------------------------


def _json_strings(value, field: str):
    """(field path, text) of every string in a JSON document, keys included; iterative, so depth
    costs no recursion."""
    stack = [(value, field)]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            yield path, current
        elif isinstance(current, dict):
            for key, item in current.items():
                yield f"{path}.{key}", str(key)
                stack.append((item, f"{path}.{key}"))
        elif isinstance(current, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(current))


def _placeholders_checked(
    strings, *, service: Service, config_ids: list[str], slot_id: str
) -> None:
    public = [
        p["name"]
        for p in service.parameters or []
        if isinstance(p, dict) and p.get("name") and not p.get("secret")
    ]
    for field, text in strings:
        for name in placeholders_in(text):
            if name.startswith(CONFIG_PREFIX):
                if name[len(CONFIG_PREFIX) :] not in config_ids:
                    _fail(
                        field,
                        f"{{{{{name}}}}} names no config slot of the project (its config slots "
                        f"are: {', '.join(config_ids) or 'none'}); add the config slot or fix the "
                        "placeholder.",
                    )
            elif name not in public:
                _fail(
                    field,
                    f"{{{{{name}}}}} is neither a config slot ({{{{config.<external_id>}}}}) nor a "
                    f"public parameter of {service.name}, the service of auth slot '{slot_id}'; "
                    "fix the placeholder.",
                )


def _query(value, field: str, credential_query: str | None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(field, 'give an object of query parameters, e.g. {"limit": "50"}.')
    for key, item in value.items():
        name = f"{field}.{key}"
        text_clean(key, name, most=MAX_TITLE_LENGTH)
        if not str(key).strip():
            _fail(field, "give each query parameter a name.")
        if credential_query and str(key).strip().lower() == credential_query.lower():
            _fail(
                name,
                f"the {credential_query} query parameter carries the credentials, which the "
                "platform adds from the authentication; remove it.",
            )
        if isinstance(item, str):
            text_clean(item, name, most=MAX_PATH_LENGTH)
        elif not (isinstance(item, bool | int) or (isinstance(item, float) and isfinite(item))):
            _fail(name, "give text, a finite number, or true or false.")
    return dict(value)


def _headers(value, field: str, credential_header: str | None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(field, 'give an object of headers, e.g. {"Accept": "application/json"}.')
    for key, item in value.items():
        name = f"{field}.{key}"
        if not isinstance(key, str) or not HEADER_NAME.fullmatch(key):
            _fail(name, "a header name is letters, digits and !#$%&'*+.^_`|~- only.")
        if not isinstance(item, str) or any(c in item for c in "\r\n\x00"):
            _fail(name, "give the header's value as text on one line.")
        if credential_header and key.lower() == credential_header.lower():
            _fail(
                name,
                f"the {credential_header} header carries the credentials, which the platform "
                "adds from the authentication; remove it.",
            )
    return dict(value)


def _body(value, field: str):
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        _fail(field, "give a JSON document.")
    if len(text) > MAX_BODY_LENGTH:
        _fail(field, f"give at most {MAX_BODY_LENGTH:,} characters of JSON.")
    if "\\u0000" in text:
        _fail(field, "remove the NUL character (\\u0000).")
    return value


def _request_clean(item, where: str, *, slot: dict, config_ids: list[str]) -> dict:
    item = _object(item, where, REQUEST_KEYS)
    service = slot["service"]
    method = item.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        _fail(f"{where}.method", f"choose one of {', '.join(METHODS)}.")
    path = text_clean(item.get("path"), f"{where}.path", most=MAX_PATH_LENGTH)
    if not path.startswith("/") or path.startswith("//"):
        _fail(
            f"{where}.path",
            "give a path under the service's base URL, starting with one /, e.g. /contacts.",
        )
    if any(c.isspace() or ord(c) < 32 for c in path):
        _fail(f"{where}.path", "a path has no spaces or control characters; encode them (%20).")
    credential_header, credential_query = credential_names(service)
    request = {"method": method.upper(), "path": path}
    if item.get("query") is not None:
        request["query"] = _query(item["query"], f"{where}.query", credential_query)
    if item.get("headers") is not None:
        request["headers"] = _headers(item["headers"], f"{where}.headers", credential_header)
    if "json" in item:
        request["json"] = _body(item["json"], f"{where}.json")
    strings = [(f"{where}.path", path)]
    for key, value in request.get("query", {}).items():
        strings += [(f"{where}.query.{key}", str(key)), (f"{where}.query.{key}", str(value))]
    strings += [(f"{where}.headers.{k}", v) for k, v in request.get("headers", {}).items()]
    if "json" in request:
        strings += list(_json_strings(request["json"], f"{where}.json"))
    _placeholders_checked(
        strings, service=service, config_ids=config_ids, slot_id=slot["external_id"]
    )
    return request


def _step_clean(item, where: str, *, auth_slots: dict, config_ids: list[str]) -> dict:
    item = _object(item, where, STEP_KEYS)
    name = one_line_clean(item.get("name"), f"{where}.name")
    slot_id = item.get("auth_slot")
    if not isinstance(slot_id, str) or slot_id not in auth_slots:
        _fail(
            f"{where}.auth_slot",
            f"name an auth slot of the project (its auth slots are: "
            f"{', '.join(auth_slots) or 'none'}).",
        )
    request = _request_clean(
        item.get("request"),
        f"{where}.request",
        slot=auth_slots[slot_id],
        config_ids=config_ids,
    )
    return {"name": name, "auth_slot": slot_id, "request": request}


def _workflow_clean(item, where: str, *, auth_slots: dict, config_ids: list[str]) -> dict:
    item = _object(item, where, WORKFLOW_KEYS)
    steps = _list(item.get("steps"), f"{where}.steps", most=MAX_STEPS)
    return {
        "name": one_line_clean(item.get("name"), f"{where}.name"),
        "description": text_clean(item.get("description"), f"{where}.description"),
        "steps": [
            _step_clean(
                step, f"{where}.steps[{index}]", auth_slots=auth_slots, config_ids=config_ids
            )
            for index, step in enumerate(steps)
        ],
    }


# --- the whole -----------------------------------------------------------------------------------


def definition_clean(
    *, actor: Actor, auth_slots: list, config_slots: list, workflows: list
) -> Definition:
    """The three lists, checked together (workflows name slots); reads only, writes nothing."""
    seen: dict[str, str] = {}
    cleaned_auth = [
        _auth_slot_clean(actor, item, f"auth_slots[{index}]", seen)
        for index, item in enumerate(_list(auth_slots, "auth_slots", most=MAX_AUTH_SLOTS))
    ]
    cleaned_config = [
        _config_slot_clean(item, f"config_slots[{index}]", seen)
        for index, item in enumerate(_list(config_slots, "config_slots", most=MAX_CONFIG_SLOTS))
    ]
    by_id = {slot["external_id"]: slot for slot in cleaned_auth}
    config_ids = [slot["external_id"] for slot in cleaned_config]
    cleaned_workflows = [
        _workflow_clean(item, f"workflows[{index}]", auth_slots=by_id, config_ids=config_ids)
        for index, item in enumerate(_list(workflows, "workflows", most=MAX_WORKFLOWS))
    ]
    return Definition(
        auth_slots=cleaned_auth, config_slots=cleaned_config, workflows=cleaned_workflows
    )


def project_definition(project) -> dict:
    """The project's lists as definition_clean takes them (ids for rows): what an update that
    replaces only some of them checks the others against."""
    return {
        "auth_slots": [
            {
                "external_id": s.external_id,
                "title": s.title,
                "service": s.service_id,
                "scopes": list(s.scopes or []),
                "hidden": s.hidden,
                "static_authentication": s.static_authentication_id,
                "force_unique": s.force_unique,
            }
            for s in project.auth_slots.order_by("position", "id")
        ],
        "config_slots": [
            {key: getattr(s, key) for key in CONFIG_SLOT_KEYS}
            for s in project.config_slots.order_by("position", "id")
        ],
        "workflows": [
            {"name": w.name, "description": w.description, "steps": w.steps}
            for w in project.workflows.order_by("position", "id")
        ],
    }


def project_snapshot(project) -> dict:
    """The project as a solution's release freezes it (embedded/solutions.py): plain JSON, rows as
    ids, never a secret. A static slot is always hidden: end users never see it."""
    return {
        "auth_slots": [
            {
                "external_id": s.external_id,
                "title": s.title,
                "service": str(s.service_id),
                "service_name": s.service.name,
                "auth_scheme": s.service.auth_scheme,
                "scopes": list(s.scopes or []),
                "hidden": s.hidden or s.static_authentication_id is not None,
                "static_authentication": (
                    str(s.static_authentication_id) if s.static_authentication_id else None
                ),
                "force_unique": s.force_unique,
            }
            for s in project.auth_slots.select_related("service").order_by("position", "id")
        ],
        "config_slots": [
            {
                "external_id": s.external_id,
                "title": s.title,
                "help_text": s.help_text,
                "type": s.type,
                "required": s.required,
                "default": s.default,
                "choices": s.choices,
                "pattern": s.pattern,
                "hidden": s.hidden,
            }
            for s in project.config_slots.order_by("position", "id")
        ],
        "workflows": [
            {"name": w.name, "description": w.description, "steps": w.steps}
            for w in project.workflows.order_by("position", "id")
        ],
    }
