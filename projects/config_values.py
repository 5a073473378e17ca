"""Config values: what a person (or an end user, in the wizard) gives for a project's config slots.

A slot (a dict, as projects.definitions.project_snapshot renders it) declares a type:
- `string`: text, matching the slot's `pattern` in full when it has one;
- `number`: an integer or a decimal (a boolean is not a number, whatever Python says);
- `boolean`: true or false;
- `select`: one of the slot's choices; `multiselect`: a list of them, each at most once;
- `json`: any JSON document.

Patterns are written by people, so RE2 runs them (infrastructure.user_patterns): a pattern such as
`(a+)+$` costs time linear in the value, never exponential. Every refusal is a RuleViolation on
`config_values.<external_id>` whose message names the slot's title and what to give instead.
"""

import json
import math
from typing import NoReturn

from infrastructure.errors import RuleViolation
from infrastructure.user_patterns import PatternError, pattern_fullmatch

# A setting is a channel name, a region, a filter: short. The caps also bound the work of checking.
MAX_STRING_LENGTH = 10_000
MAX_JSON_LENGTH = 65_536


def _refuse(slot: dict, fix: str) -> NoReturn:
    raise RuleViolation(f"'{slot['title']}' {fix}", field=f"config_values.{slot['external_id']}")


def _choices(slot: dict) -> str:
    return ", ".join(str(choice) for choice in slot.get("choices") or [])


def _string(slot: dict, value):
    if not isinstance(value, str):
        _refuse(slot, "is text: give a string.")
    if len(value) > MAX_STRING_LENGTH:
        _refuse(slot, f"is at most {MAX_STRING_LENGTH:,} characters long; shorten it.")
    if "\x00" in value:
        _refuse(slot, "cannot hold a NUL character (\\u0000); remove it.")
    pattern = slot.get("pattern")
    if pattern:
        try:
            matches = pattern_fullmatch(pattern, value)
        except PatternError as error:
            _refuse(slot, f"has a pattern that cannot be used ({error}); fix the project's slot.")
        if not matches:
            _refuse(slot, f"must match the pattern {pattern} in full; give a value that does.")
    return value


def _number(slot: dict, value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        _refuse(slot, "is a number: give an integer or a decimal, without quotes.")
    if isinstance(value, float) and not math.isfinite(value):
        _refuse(slot, "is a number: give a finite one.")
    return value


def _boolean(slot: dict, value):
    if not isinstance(value, bool):
        _refuse(slot, "is yes or no: give true or false.")
    return value


def _select(slot: dict, value):
    if not isinstance(value, str) or value not in (slot.get("choices") or []):
        _refuse(slot, f"is one of: {_choices(slot)}; give one of them.")
    return value


def _multiselect(slot: dict, value):
    choices = slot.get("choices") or []
    if not isinstance(value, list):
        _refuse(slot, f"is a list of some of: {_choices(slot)}; give a list.")
    for item in value:
        if not isinstance(item, str) or item not in choices:
            _refuse(slot, f"takes only: {_choices(slot)}; remove the others.")
    if len(set(value)) != len(value):
        _refuse(slot, "takes each choice at most once; remove the repeated ones.")
    return value


def _json(slot: dict, value):
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        _refuse(slot, "is JSON: give an object, a list, a string, a number, true, false or null.")
    if len(text) > MAX_JSON_LENGTH:
        _refuse(slot, f"is at most {MAX_JSON_LENGTH:,} characters of JSON; make it smaller.")
    if "\\u0000" in text:
        _refuse(slot, "cannot hold a NUL character (\\u0000); remove it.")
    return value


CLEANERS = {
    "string": _string,
    "number": _number,
    "boolean": _boolean,
    "select": _select,
    "multiselect": _multiselect,
    "json": _json,
}


def config_value_clean(*, slot: dict, value):
    """The value, if it is one the slot takes; RuleViolation naming the slot otherwise."""
    if value is None:
        _refuse(slot, "needs a value.")
    cleaner = CLEANERS.get(slot.get("type") or "string")
    if cleaner is None:
        _refuse(slot, f"has an unknown type '{slot.get('type')}'; fix the project's slot.")
    return cleaner(slot, value)


def config_values_clean(*, slots: list[dict], values: dict, partial: bool = False) -> dict:
    """The values to keep, by external id: each given value checked, defaults filled in for the
    slots given none. A required slot with neither a value nor a default is refused unless
    `partial` (an instance being filled in step by step); a value for no slot is refused."""
    if not isinstance(values, dict):
        raise RuleViolation(
            'config_values: give an object of {"<external_id>": value}.', field="config_values"
        )
    by_id = {slot["external_id"]: slot for slot in slots}
    unknown = sorted(str(key) for key in values if key not in by_id)
    if unknown:
        known = ", ".join(by_id) or "none"
        raise RuleViolation(
            f"There is no config slot '{unknown[0]}' (the config slots are: {known}); remove it.",
            field=f"config_values.{unknown[0]}",
        )
    cleaned = {}
    for external_id, slot in by_id.items():
        value = values.get(external_id)
        if value is not None:
            cleaned[external_id] = config_value_clean(slot=slot, value=value)
        elif slot.get("default") is not None:
            cleaned[external_id] = slot["default"]
        elif slot.get("required") and not partial:
            _refuse(slot, "is required: give a value.")
    return cleaned
