"""What `scripts/run` repeats on every start, done only when it has something to do
(`python manage.py prepare_run`, one process instead of one per step):

- migrations: applied only when some are unapplied (`migrations_pending`); a `migrate` with
  nothing to apply costs a second of CPU on every start;
- system checks: the ones that guard a start (encryption keys, models, database, security,
  caches, ...), not the developers' template and URL checks (`start_check_messages`), which
  import every template tag library and every view: a second of CPU on each start, to find
  mistakes that `manage.py check`, runserver and the test suite report;
- static files: collected (and compressed by WhiteNoise) only when their inputs changed: the
  digest of every file the static finders list (path, size, modification time) and the storage
  settings, kept in STATIC_ROOT next to what it describes (`static_inputs_digest`, like the venv's
  requirements stamp in scripts/lib.sh).
"""

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.checks import CheckMessage, Tags
from django.core.checks.registry import registry
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

# collectstatic's default ignore patterns: the same files it would copy.
STATIC_IGNORE_PATTERNS = ["CVS", ".*", "*~"]
STATIC_STAMP_NAME = ".collectstatic-inputs"
DEVELOPER_CHECK_TAGS = frozenset({Tags.templates, Tags.urls})


def start_check_messages() -> list[CheckMessage]:
    """What the system checks say, less the checks tagged only as developer checks."""
    messages = []
    for check in registry.get_checks(include_deployment_checks=False):
        if check.tags and set(check.tags) <= DEVELOPER_CHECK_TAGS:
            continue
        messages.extend(check(app_configs=None, databases=None))
    return [message for message in messages if not message.is_silenced()]


def migrations_pending(*, database: str = "default") -> bool:
    """True when `migrate` would apply something on `database`."""
    executor = MigrationExecutor(connections[database])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def static_inputs_digest() -> str:
    """A digest of what collectstatic would read and how it would write it."""
    digest = hashlib.sha256()
    digest.update(repr((settings.STATIC_URL, settings.STORAGES.get("staticfiles"))).encode())
    for finder in get_finders():
        for path, storage in sorted(finder.list(STATIC_IGNORE_PATTERNS), key=lambda x: x[0]):
            stat = os.stat(storage.path(path))
            prefix = getattr(storage, "prefix", None) or ""
            digest.update(f"{prefix}/{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_stamp_path() -> Path:
    return Path(settings.STATIC_ROOT) / STATIC_STAMP_NAME


def static_files_current(digest: str) -> bool:
    try:
        return static_stamp_path().read_text().strip() == digest
    except OSError:
        return False


def static_files_collected(digest: str) -> None:
    """Record that STATIC_ROOT holds what `digest` describes (call after collectstatic)."""
    static_stamp_path().write_text(digest + "\n")
