"""The pagination of every list endpoint: limit/offset, within what the database can count.

PostgreSQL takes LIMIT and OFFSET as bigint: `?limit=99999999999999999999` used to reach it and
come back as a 500. A limit above MAX_LIMIT is capped (DRF's max_limit: the page is simply the
largest one served); an offset above MAX_OFFSET is refused naming `offset`, since no list here is
that long and a deep OFFSET only makes the database skip rows.
"""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

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
