"""Per-service refresh slots: at most REFRESH_SLOTS_PER_SERVICE refreshes of one service run at
once, so a provider that answers in 40 s cannot take every worker while other services' tokens
expire (issue 10).

A slot is a PostgreSQL advisory lock held by the refresh's own transaction
(pg_try_advisory_xact_lock): it is released when the transaction ends, however it ends — commit,
rollback, or a worker killed mid-call (the database closes its session). One statement tries the
slots in order and takes the first free one. On SQLite (the embedded default) every refresh
transaction already takes the database's write lock, so refreshes run one at a time anyway and
there is nothing to bound.
"""

import zlib

from django.conf import settings
from django.db import connection

_TAKE_SLOT = """
SELECT slot FROM generate_series(0, %s - 1) AS slot
WHERE pg_try_advisory_xact_lock(%s, slot)
LIMIT 1
"""


def service_key(service_id) -> int:
    """A stable 31-bit key for the service (advisory locks take two int4 keys)."""
    return zlib.crc32(str(service_id).encode()) & 0x7FFFFFFF


def service_slot_take(service_id) -> bool:
    """Take one of the service's refresh slots for the current transaction; False when all are in
    use. Must be called inside transaction.atomic()."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SLOT, [settings.REFRESH_SLOTS_PER_SERVICE, service_key(service_id)])
        return cursor.fetchone() is not None
