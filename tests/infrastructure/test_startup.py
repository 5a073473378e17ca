"""`manage.py prepare_run` (what scripts/run does before starting the Procfile): the system checks
that guard a start (not the developers' template and URL checks), migrations applied only when
some are unapplied, static files collected only when their inputs changed, the demo organization
created only on an empty installation; and scripts/prepared.py, which skips all of it on a
restart with nothing changed."""

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from infrastructure.startup import (
    STATIC_STAMP_NAME,
    migrations_pending,
    start_check_messages,
    static_inputs_digest,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def static_dirs(tmp_path, settings):
    """One static input folder of our own and an empty STATIC_ROOT."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "site.css").write_text("body { color: black }\n")
    settings.STATICFILES_DIRS = [source]
    settings.STATIC_ROOT = tmp_path / "collected"
    return source, tmp_path / "collected"


def prepare() -> str:
    out = StringIO()
    call_command("prepare_run", stdout=out)
    return out.getvalue()


def test_the_static_digest_follows_the_inputs(static_dirs):
    source, _ = static_dirs
    first = static_inputs_digest()
    assert static_inputs_digest() == first
    (source / "site.css").write_text("body { color: navy }\n")
    changed = static_inputs_digest()
    assert changed != first
    (source / "extra.js").write_text("'use strict';\n")
    assert static_inputs_digest() != changed


@pytest.mark.django_db
def test_static_files_are_collected_only_when_their_inputs_changed(static_dirs):
    source, collected = static_dirs
    prepare()
    assert (collected / "site.css").read_text() == "body { color: black }\n"
    assert (collected / STATIC_STAMP_NAME).read_text().strip() == static_inputs_digest()

    (collected / "site.css").unlink()  # a second start with the same inputs collects nothing
    prepare()
    assert not (collected / "site.css").exists()

    (source / "site.css").write_text("body { color: navy }\n")  # an input changed: collected
    prepare()
    assert (collected / "site.css").read_text() == "body { color: navy }\n"


def test_a_start_without_usable_encryption_keys_is_refused(settings, static_dirs):
    settings.FIELD_ENCRYPTION_KEYS = []
    assert "infrastructure.E001" in {message.id for message in start_check_messages()}
    errors = StringIO()
    with pytest.raises(CommandError, match="system checks"):
        call_command("prepare_run", stdout=StringIO(), stderr=errors)
    assert "infrastructure.E001" in errors.getvalue()
    assert not (static_dirs[1] / STATIC_STAMP_NAME).exists()  # stopped before anything else


def test_the_start_checks_leave_out_only_the_template_and_url_checks(settings):
    settings.SILENCED_SYSTEM_CHECKS = []
    settings.CSRF_FAILURE_VIEW = "no.such.view"  # a security check: still run at start
    assert "security.E102" in {message.id for message in start_check_messages()}


@pytest.mark.django_db
def test_a_migrated_database_has_no_pending_migrations():
    assert migrations_pending() is False


def test_a_second_start_migrates_nothing_and_keeps_the_demo(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATA_DIR=str(tmp_path / "data"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        FIELD_ENCRYPTION_KEYS="X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0=",
    )

    def prepare_run():
        result = subprocess.run(
            [sys.executable, "manage.py", "prepare_run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = prepare_run()
    assert "Applying workspaces." in first
    assert "owner@demo.example" in first
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    assert (tmp_path / "static" / STATIC_STAMP_NAME).exists()

    second = prepare_run()
    assert "Applying" not in second
    assert "no demo organization created" in second

    # scripts/prepared.py: a restart with nothing changed skips prepare_run altogether.
    def prepared(action="check", **changes) -> int:
        return subprocess.run(
            [sys.executable, "scripts/prepared.py", action],
            cwd=ROOT,
            env=env | changes,
            timeout=60,
        ).returncode

    assert prepared() == 1  # nothing recorded yet
    assert prepared("record") == 0
    assert prepared() == 0
    assert prepared(FIELD_ENCRYPTION_KEYS="another-key") == 1  # the checks must run again
    assert prepared(DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}") == 1  # no such db
    database = sqlite3.connect(tmp_path / "data" / "platform.sqlite3")
    last = "SELECT app, name, applied FROM django_migrations ORDER BY id DESC LIMIT 1"
    app, name, applied = database.execute(last).fetchone()
    with database:
        database.execute("DELETE FROM django_migrations WHERE app = ? AND name = ?", (app, name))
    assert prepared() == 1  # the database no longer has what was applied (a restored backup)
    with database:
        database.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (?, ?, ?)",
            (app, name, applied),
        )
    database.close()
    assert prepared() == 0
    (tmp_path / "static" / STATIC_STAMP_NAME).unlink()
    assert prepared() == 1  # static files gone: collected again
