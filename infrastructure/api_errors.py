"""One error format for the whole API:

    {"error": {"code": "...", "message": "...", "fields": {"<field>": ["<how to fix it>"]}}}

`fields` is present when the fault lies in named inputs. Domain exceptions are mapped here, once.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from infrastructure.encryption import EncryptionUnavailable
from infrastructure.errors import DomainError, held_rows_description

logger = logging.getLogger(__name__)

ENCRYPTION_UNAVAILABLE = (
    "The platform cannot read or write its stored secrets: its encryption keys "
    "(FIELD_ENCRYPTION_KEYS) are missing or do not match the stored data. This is a server "
    "configuration problem; tell the platform's operator, who will find the details in the "
    "server log."
)


def _flatten(detail, prefix=""):
    """DRF nests errors for nested serializers; flatten to dotted field names."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc, context):
    if isinstance(exc, EncryptionUnavailable):
        # For the operator: which key the data needs (its id, never a key or a secret).
        logger.error(
            "A stored secret cannot be used: %s Fix FIELD_ENCRYPTION_KEYS (newest key first, then "
            "every older key the data still uses) and restart.",
            exc,
        )
        return Response(
            error_body(code="encryption_unavailable", message=ENCRYPTION_UNAVAILABLE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else None
        return Response(
            error_body(code=exc.code, message=exc.message, fields=fields), status=exc.status_code
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, first_messages = next(iter(fields.items()))
        message = (
            first_messages[0]
            if first_field == "non_field_errors"
            else f"{first_field}: {first_messages[0]}"
        )
        return Response(
            error_body(code="invalid", message=message, fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        # The safety net: a domain function should have refused with its own words (as
        # workspace_delete does), but a row kept by a foreign key is never a server error.
        rows = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        held, count = held_rows_description(rows)
        return Response(
            error_body(
                code="conflict",
                message=f"This cannot be deleted while {held} "
                f"{'uses' if count == 1 else 'use'} it: move or delete "
                f"{'it' if count == 1 else 'them'} first.",
            ),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = error_body(
            code=exc.get_codes() if isinstance(exc.get_codes(), str) else "error", message=detail
        )
    return response
