# TEMPORARY stand-in (replaced by the projects branch): the contract only.
from infrastructure.errors import RuleViolation

TYPES = {"string": str, "number": (int, float), "boolean": bool, "select": str, "multiselect": list}


def config_value_clean(*, slot: dict, value):
    expected = TYPES.get(slot["type"])
    if expected and not isinstance(value, expected):
        raise RuleViolation(
            f"'{slot['title']}' must be a {slot['type']}.",
            field=f"config_values.{slot['external_id']}",
        )
    return value


def config_values_clean(*, slots: list[dict], values: dict, partial: bool = False) -> dict:
    by_id = {s["external_id"]: s for s in slots}
    unknown = sorted(set(values) - set(by_id))
    if unknown:
        raise RuleViolation(f"No config slot '{unknown[0]}'.", field=f"config_values.{unknown[0]}")
    cleaned = {}
    for external_id, slot in by_id.items():
        if external_id in values and values[external_id] is not None:
            cleaned[external_id] = config_value_clean(slot=slot, value=values[external_id])
        elif slot.get("default") is not None:
            cleaned[external_id] = slot["default"]
        elif slot.get("required") and not partial:
            raise RuleViolation(
                f"'{slot['title']}' is required.", field=f"config_values.{external_id}"
            )
    return cleaned
