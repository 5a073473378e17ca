"""The system check of the encryption keys: without a valid FIELD_ENCRYPTION_KEYS every secret
operation fails, so `manage.py check` (and migrate, runserver, every command) fails first, naming
the setting and how to fix it."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

VALID = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [""],
        ["not-a-fernet-key"],
        [VALID[:-4]],  # wrong length
        [VALID.replace("-", "+").replace("_", "/") + "!"],  # not url-safe base64
        [VALID, "second-key-is-broken"],
    ],
    ids=["none", "blank", "not-base64", "too-short", "bad-characters", "one-of-two-broken"],
)
def test_the_check_fails_without_valid_keys(settings, keys):
    settings.FIELD_ENCRYPTION_KEYS = keys
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    message = str(failed.value)
    assert "infrastructure.E001" in message and "FIELD_ENCRYPTION_KEYS" in message
    assert "Fernet.generate_key()" in message  # how to make one


def test_the_check_never_prints_a_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [VALID, "secret-looking-but-broken-key"]
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert VALID not in str(failed.value)
    assert "secret-looking-but-broken-key" not in str(failed.value)
    assert "key 2" in str(failed.value)


def test_the_check_passes_with_valid_keys(settings, capsys):
    settings.FIELD_ENCRYPTION_KEYS = [VALID, Fernet.generate_key().decode()]
    call_command("check")
    assert "no issues" in capsys.readouterr().out
