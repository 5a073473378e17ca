"""Config values are checked against their slot's type, choices and pattern; every refusal names
`config_values.<external_id>` and the slot's title. Pure functions: no database."""

import pytest

from infrastructure.errors import RuleViolation
from projects.config_values import config_value_clean, config_values_clean


def slot(type_="string", **fields):
    return {
        "external_id": "setting",
        "title": "The setting",
        "type": type_,
        "required": False,
        "default": None,
        "choices": [],
        "pattern": "",
        **fields,
    }


REGIONS = {"choices": ["eu", "us", "apac"]}

ACCEPTED = [
    (slot("string"), "#sales"),
    (slot("string", pattern="[a-z]{2}-[0-9]+"), "eu-1"),
    (slot("number"), 50),
    (slot("number"), 2.5),
    (slot("number"), -3),
    (slot("boolean"), False),
    (slot("select", **REGIONS), "us"),
    (slot("multiselect", **REGIONS), ["eu", "apac"]),
    (slot("multiselect", **REGIONS), []),
    (slot("json"), {"filters": [{"field": "status", "in": ["open", 3, None, True]}]}),
    (slot("json"), [1, "two"]),
    (slot("json"), "text"),
    (slot("json"), 0),
]


@pytest.mark.parametrize(("slot_", "value"), ACCEPTED)
def test_a_value_of_the_slots_type_is_kept_as_given(slot_, value):
    assert config_value_clean(slot=slot_, value=value) == value


REFUSED = [
    (slot("string"), 5, "is text"),
    (slot("string", pattern="[a-z]{2}"), "eu-1", "must match the pattern [a-z]{2} in full"),
    (slot("string", pattern="[a-z]{2}"), "xeu", "must match the pattern"),
    (slot("number"), True, "is a number"),
    (slot("number"), "50", "is a number"),
    (slot("number"), float("nan"), "finite"),
    (slot("boolean"), "true", "give true or false"),
    (slot("boolean"), 1, "give true or false"),
    (slot("select", **REGIONS), "mars", "is one of: eu, us, apac"),
    (slot("select", **REGIONS), ["eu"], "is one of"),
    (slot("multiselect", **REGIONS), "eu", "give a list"),
    (slot("multiselect", **REGIONS), ["eu", "mars"], "takes only: eu, us, apac"),
    (slot("multiselect", **REGIONS), ["eu", "eu"], "at most once"),
    (slot("json"), float("inf"), "is JSON"),
    (slot("json"), {"a": {1, 2}}, "is JSON"),
    (slot("json"), "x" * 70_000, "at most 65,536 characters"),
]


@pytest.mark.parametrize(("slot_", "value", "fix"), REFUSED)
def test_a_value_the_slot_does_not_take_is_refused_naming_the_slot(slot_, value, fix):
    with pytest.raises(RuleViolation) as refused:
        config_value_clean(slot=slot_, value=value)
    assert refused.value.field == "config_values.setting"
    assert refused.value.message.startswith("'The setting' ")
    assert fix in refused.value.message


def test_a_pathological_pattern_answers_at_once_on_a_long_value():
    # With Python's backtracking `re`, (a+)+$ on "aaa…a!" takes time exponential in the length;
    # RE2 answers in time linear in it. No timing assertion: it returns, that is the point.
    catastrophic = slot("string", pattern="(a+)+$")
    with pytest.raises(RuleViolation, match="must match the pattern"):
        config_value_clean(slot=catastrophic, value="a" * 5000 + "!")
    assert config_value_clean(slot=catastrophic, value="a" * 5000) == "a" * 5000


def test_a_pattern_re2_cannot_run_is_reported_not_crashed_on():
    with pytest.raises(RuleViolation, match="cannot be used"):
        config_value_clean(slot=slot("string", pattern=r"(a)\1"), value="aa")


SLOTS = [
    slot("select", external_id="region", title="Region", required=True, **REGIONS),
    slot("string", external_id="channel", title="Channel", required=True, default="#general"),
    slot("boolean", external_id="digest", title="Daily digest"),
]


def test_defaults_fill_in_and_unset_optional_slots_stay_out():
    assert config_values_clean(slots=SLOTS, values={"region": "eu"}) == {
        "region": "eu",
        "channel": "#general",
    }


def test_a_required_slot_without_a_value_or_default_is_refused_unless_partial():
    with pytest.raises(RuleViolation) as refused:
        config_values_clean(slots=SLOTS, values={"digest": True})
    assert refused.value.field == "config_values.region"
    assert "'Region' is required" in refused.value.message
    assert config_values_clean(slots=SLOTS, values={"digest": True}, partial=True) == {
        "channel": "#general",
        "digest": True,
    }


def test_a_value_for_no_slot_is_refused_naming_it():
    with pytest.raises(RuleViolation) as refused:
        config_values_clean(slots=SLOTS, values={"region": "eu", "colour": "blue"})
    assert refused.value.field == "config_values.colour"
    assert "region, channel, digest" in refused.value.message


def test_each_value_is_checked_against_its_own_slot():
    with pytest.raises(RuleViolation) as refused:
        config_values_clean(slots=SLOTS, values={"region": "eu", "digest": "yes"})
    assert refused.value.field == "config_values.digest"
    assert "'Daily digest'" in refused.value.message


def test_values_must_be_an_object():
    with pytest.raises(RuleViolation) as refused:
        config_values_clean(slots=SLOTS, values=["eu"])
    assert refused.value.field == "config_values"
