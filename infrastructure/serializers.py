"""Read serializers that render a page of objects quickly: the same output as DRF's
`Serializer.to_representation`, without its per-field, per-row generality.

DRF renders each field of each row by walking the field's source through `get_attribute` (with
its Mapping checks, callables and error handling) and a generator over the readable fields: about
a third of the CPU of a 50-row list (issue 12). `FastRepresentation` plans the fields once per
serializer instance (so once per page) and, for a plain attribute of the object, reads it with
`operator.attrgetter` and renders it with the field's own `to_representation`. Everything else
(dotted and `*` sources, related fields, nested serializers, method fields) goes through DRF's
own steps, and so does any field whose fast read fails, so the rules (defaults, absent keys,
None) are DRF's. tests/test_fast_representation.py renders every serializer that uses it both
ways and compares.

Only for objects (model instances); a dict is rendered by DRF's loop.

It also builds the serializer's fields once per class: ModelSerializer introspects the model and
builds every field on each instantiation (1-3 ms a request for the wide service model); a copy
of the first build is a third of that. For serializers whose fields depend on nothing but their
class (no per-request fields).
"""

import copy
from datetime import datetime
from operator import attrgetter

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

# Field classes whose value is the object's attribute itself (DRF's ModelSerializer mappings for
# model columns), rendered by their to_representation.
PLAIN_FIELDS = (
    drf_fields.CharField,
    drf_fields.ChoiceField,
    drf_fields.IntegerField,
    drf_fields.BooleanField,
    drf_fields.UUIDField,
    drf_fields.DateTimeField,
    drf_fields.JSONField,
    drf_fields.ListField,
    drf_fields.DictField,
)
_FAST_READ_ERRORS = (AttributeError, KeyError, ObjectDoesNotExist)


def _drf_value(field, instance):
    """DRF's own steps for one field of one object (Serializer.to_representation's loop body);
    raises SkipField when DRF leaves the key out."""
    attribute = field.get_attribute(instance)
    check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
    return None if check_for_none is None else field.to_representation(attribute)


def _datetime_renderer(field):
    """DRF's DateTimeField.to_representation for the usual case (ISO 8601, an aware value, the
    field's or the current time zone), with the time zone looked up once per page instead of
    once per value; anything else goes to the field."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != "iso-8601":
        return field.to_representation
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return field.to_representation

    def render(value):
        if type(value) is not datetime or value.utcoffset() is None:
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def _plan(serializer) -> list:
    plan = []
    for field in serializer._readable_fields:
        if isinstance(field, serializers.SerializerMethodField):
            plan.append((field.field_name, None, getattr(serializer, field.method_name), field))
        elif (
            isinstance(field, PLAIN_FIELDS)
            and field.source != "*"
            and len(field.source_attrs) == 1
            and not (isinstance(field, drf_fields.JSONField) and field.binary)
        ):
            getter = attrgetter(field.source_attrs[0])
            render = (
                _datetime_renderer(field)
                if isinstance(field, drf_fields.DateTimeField)
                else field.to_representation
            )
            plan.append((field.field_name, getter, render, field))
        else:
            plan.append((field.field_name, None, None, field))
    return plan


class FastRepresentation:
    """Mix into a read serializer (before the DRF base class)."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return copy.deepcopy(built)

    def to_representation(self, instance):
        if isinstance(instance, dict):
            return super().to_representation(instance)
        plan = self.__dict__.get("_fast_plan")
        if plan is None:
            plan = self.__dict__["_fast_plan"] = _plan(self)
        output = {}
        for name, getter, render, field in plan:
            if getter is not None:
                try:
                    value = getter(instance)
                except _FAST_READ_ERRORS:
                    value = _drf_value  # DRF decides: default, None or absent
                if value is None:
                    output[name] = None
                    continue
                if value is not _drf_value and not callable(value):
                    output[name] = render(value)
                    continue
            elif render is not None:  # a method field
                output[name] = render(instance)
                continue
            try:
                output[name] = _drf_value(field, instance)
            except SkipField:
                pass
        return output
