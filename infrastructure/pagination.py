"""The pagination of every list endpoint.

Most lists: limit/offset, within what the database can count. PostgreSQL takes LIMIT and OFFSET
as bigint: `?limit=99999999999999999999` used to reach it and come back as a 500. A limit above
MAX_LIMIT is capped (DRF's max_limit: the page is simply the largest one served); an offset above
MAX_OFFSET is refused naming `offset`, since no list here is that long and a deep OFFSET only makes
the database skip rows.

Logs that only grow (the event logs): a cursor, newest first. A page is read from an index on
(scope, created_at) wherever it is in the log, and no `COUNT(*)` runs over the history: the
response has `next` and `previous` (opaque URLs) and `results`, no `count`. `?limit=` sets the
page size as elsewhere (capped the same way); `?offset=` is refused naming it, pointing to `next`.
"""

from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000


class BoundedLimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_offset(self, request):
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError(
                {self.offset_query_param: [f"give an offset from 0 to {MAX_OFFSET:,}."]}
            )
        return offset


class NewestFirstCursorPagination(pagination.CursorPagination):
    """Newest first by (created_at, id); the model needs an index that ends with created_at for
    each filter the view applies."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    offset_query_param = "offset"

    def paginate_queryset(self, queryset, request, view=None):
        if self.offset_query_param in request.query_params:
            raise ValidationError(
                {
                    self.offset_query_param: [
                        "this log pages by cursor, not by offset: follow the `next` link of "
                        "the previous page."
                    ]
                }
            )
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's, plus: the position is a timestamp. A cursor is opaque but not signed; one made
        by hand with any other position would reach the database as a bad datetime (a 500)."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(cursor.position) is not None
            except ValueError:
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor
