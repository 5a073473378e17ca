"""Production settings: `check --deploy` passes with the required variables, and secrets have no
default (a deploy without them fails loudly)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-with-enough-length-and-variety-0123456789",
    "DJANGO_ALLOWED_HOSTS": "platform.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "FIELD_ENCRYPTION_KEYS": "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0=",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS"],
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("keys", ["", "not-a-fernet-key", ","])
def test_production_deploy_check_fails_without_a_valid_encryption_key(keys):
    """FIELD_ENCRYPTION_KEYS="" passed `check --deploy`, and then every secret operation failed."""
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": keys},
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
