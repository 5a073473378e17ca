"""The embedded default (scripts/run with nothing installed): SQLite in DATA_DIR and kombu's
filesystem broker. Proves migrations and the demo set-up run on SQLite and that the worker really
receives a task scheduled by beat through the filesystem broker."""

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def embedded_env(data_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATA_DIR=str(data_dir),
        HEARTBEAT_SECONDS="1",
        FIELD_ENCRYPTION_KEYS="X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0=",
    )
    return env


def test_migrate_and_demo_setup_on_sqlite(tmp_path):
    env = embedded_env(tmp_path)
    for args in (["migrate", "--noinput"], ["demo_setup"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
    assert "owner@demo.example" in result.stdout and "password" in result.stdout
    again = subprocess.run(
        [sys.executable, "manage.py", "demo_setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "no demo organization created" in again.stdout
    assert (tmp_path / "platform.sqlite3").exists()


def _pump(stream, lines: queue.Queue):
    for line in iter(stream.readline, ""):
        lines.put(line)


def test_worker_receives_a_beat_scheduled_task_through_the_filesystem_broker(tmp_path):
    env = embedded_env(tmp_path)
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker = subprocess.Popen(
        [*celery, "worker", "--loglevel", "INFO", "--concurrency", "1", "--pool", "solo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(worker.stdout, lines), daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if "worker received the beat-scheduled task" in line:
                break
        else:
            raise AssertionError("no heartbeat reached the worker:\n" + "".join(seen[-40:]))
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=30)
    assert any("workspaces.tasks.heartbeat" in line and "received" in line.lower() for line in seen)


def test_management_commands_read_data_local_env_and_the_environment_wins(tmp_path):
    """scripts/run writes the keys to DATA_DIR/local.env and loads it for its own processes; a
    command run by hand (`python manage.py create_organization …`) must find them there too, and
    a variable set in the environment must win over the file."""
    env = embedded_env(tmp_path)
    key = env.pop("FIELD_ENCRYPTION_KEYS")
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("WEB_BIND", None)
    env.pop("SITE_URL", None)
    (tmp_path / "local.env").write_text(
        f"DJANGO_SECRET_KEY=from-the-file-{'x' * 40}\nFIELD_ENCRYPTION_KEYS={key}\n"
        "WEB_BIND=127.0.0.1:8765\n"
    )

    def manage(*args, **extra):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=180,
        )

    migrated = manage("migrate", "--noinput")  # runs the system checks: the key must be found
    assert migrated.returncode == 0, migrated.stderr
    created = manage("create_organization", "Acme", "--owner-email", "owner@acme.example")
    assert created.returncode == 0, created.stderr
    assert "Sign in at http://127.0.0.1:8765/admin/ as owner@acme.example" in created.stdout
    # The environment wins over the file.
    again = manage(
        "create_organization", "Beta", "--owner-email", "owner@beta.example",
        WEB_BIND="127.0.0.1:9911",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "http://127.0.0.1:9911/admin/" in again.stdout
