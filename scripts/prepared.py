"""Whether the last `manage.py prepare_run` still holds, without importing Django (scripts/run):

    python scripts/prepared.py check    # exit 0: nothing changed since the last preparation
    python scripts/prepared.py record   # after prepare_run succeeded

A restart with nothing changed then costs a few milliseconds instead of a Django process (the
system checks, the migration plan, the catalog and the static digest: a second of CPU). The
fingerprint, kept in DATA_DIR/.prepared, covers all that preparation depends on:

- the project's files (code, migrations, catalog, templates, static files; not docs, tests,
  bench or scripts), by path, size and modification time, and the installed requirements (the venv's stamp, scripts/lib.sh);
- the environment the settings read for it (database, data and static folders, settings module,
  keys: the keys only as part of a digest);
- what the database says it has applied (django_migrations), read with sqlite3 or psycopg: a
  database replaced, recreated or migrated elsewhere is prepared again;
- the static files' own stamp (infrastructure/startup.py): a deleted STATIC_ROOT is collected
  again.

Anything unreadable (no database yet, no table, no stamp) means "not prepared".
"""

import hashlib
import os
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}
# Top-level folders that preparation never reads (and that test runs write to).
UNREAD_FOLDERS = {"docs", "tests", "bench", "scripts"}
ENVIRONMENT = (
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "DATA_DIR",
    "DJANGO_STATIC_ROOT",
    "DJANGO_SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
)
APPLIED = "SELECT app, name FROM django_migrations ORDER BY id"


def data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR") or ROOT / "data").resolve()


def static_root() -> Path:
    return Path(os.environ.get("DJANGO_STATIC_ROOT") or ROOT / "staticfiles").resolve()


def project_files(digest) -> None:
    skipped = {data_dir(), static_root()}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in SKIPPED_DIRS
            and not (Path(folder) == ROOT and name in UNREAD_FOLDERS)
            and (Path(folder) / name).resolve() not in skipped
        )
        for name in sorted(files):
            path = Path(folder) / name
            stat = path.stat()
            digest.update(
                f"{path.relative_to(ROOT)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )


def applied_migrations() -> list[tuple[str, str]]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=5) as connection:
                return connection.execute(APPLIED).fetchall()
        except psycopg.Error as error:
            raise LookupError(str(error)) from None
    if url and not url.startswith("sqlite:///"):
        raise LookupError(f"no fingerprint for {url.split(':')[0]} databases")
    path = url.removeprefix("sqlite:///") if url else str(data_dir() / "platform.sqlite3")
    if not Path(path).exists():
        raise LookupError("no database yet")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute(APPLIED).fetchall()
    finally:
        connection.close()


def fingerprint() -> str:
    digest = hashlib.sha256()
    project_files(digest)
    venv_stamp = ROOT / ".venv" / ".installed-requirements.txt"
    digest.update(venv_stamp.read_bytes() if venv_stamp.exists() else b"no venv stamp")
    for name in ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name, '')}\n".encode())
    digest.update(repr(applied_migrations()).encode())
    digest.update((static_root() / ".collectstatic-inputs").read_bytes())
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    stamp = data_dir() / ".prepared"
    if argv[1:] == ["record"]:
        stamp.write_text(fingerprint() + "\n")
        return 0
    if argv[1:] != ["check"]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        current = fingerprint()
        recorded = stamp.read_text().strip()
    except (OSError, sqlite3.Error, LookupError):  # anything unreadable: prepare again
        return 1
    return 0 if current == recorded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
