"""Secrets at rest: client secrets, tokens, API keys, passwords, secret parameter values.

- Fernet keys come from FIELD_ENCRYPTION_KEYS (newest first), never from SECRET_KEY, so rotating the
  signing key does not re-key the data.
- Ciphertext is stored as `v1:<key id>:<fernet token>`: operators can see which rows still use an
  old key, and `rotate_encryption_keys` re-encrypts them under the newest one.
- A missing or wrong key raises (EncryptionUnavailable); ciphertext is never handed back as if it
  were the value. A system check (infrastructure/checks.py) refuses to start without valid keys,
  and the API answers a key that does not match the data with a clear 503 (api_errors.py).
- A model field holds a `Sealed` value: its repr is `<sealed secret>`, so it cannot leak through a
  serializer, a log line or an exception by accident. Only `reveal()` returns the plaintext, and
  only the credentials code calls it (tests/test_structure.py lists where).
"""

import hashlib
import json
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

ENVELOPE_VERSION = "v1"


class EncryptionUnavailable(Exception):
    """The configured keys cannot serve the stored secrets: a server configuration problem that
    only an operator can fix (FIELD_ENCRYPTION_KEYS). The message never holds a key or a secret."""


class DecryptionError(EncryptionUnavailable):
    """The ciphertext cannot be decrypted with the configured keys."""


class EncryptionKeysInvalid(EncryptionUnavailable, ImproperlyConfigured):
    """FIELD_ENCRYPTION_KEYS is empty or holds something that is not a Fernet key."""


# A Fernet key: 32 bytes in URL-safe base64, 44 characters ending in "=" (Fernet.generate_key()).
# Checked strictly: Python's base64 decoder silently skips characters outside the alphabet.
FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
HOW_TO_MAKE_A_KEY = (
    'Make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def keys_problems(keys) -> list[str]:
    """What is wrong with a FIELD_ENCRYPTION_KEYS value, one sentence per problem (empty when it
    is usable). Keys are named by position, never shown."""
    keys = list(keys or [])
    if not keys:
        return [
            "FIELD_ENCRYPTION_KEYS is empty: secrets cannot be encrypted or read. Set it to one "
            "or more Fernet keys, comma-separated, newest first."
        ]
    problems = []
    for position, key in enumerate(keys, start=1):
        valid = isinstance(key, str) and FERNET_KEY.fullmatch(key) is not None
        if valid:
            try:
                Fernet(key.encode())
            except ValueError:
                valid = False
        if not valid:
            length = len(key) if isinstance(key, str) else 0
            problems.append(
                f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key (44 "
                f"characters of URL-safe base64 ending in '='; this one has {length} characters)."
            )
    return problems


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> tuple[str, dict[str, Fernet]]:
    problems = keys_problems(keys)
    if problems:
        raise EncryptionKeysInvalid(" ".join(problems))
    ring = {key_id(k): Fernet(k.encode()) for k in keys}
    return key_id(keys[0]), ring


def keyring() -> tuple[str, dict[str, Fernet]]:
    # Read at call time, not import time, so settings overrides (tests, rotation) take effect.
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    primary_id, ring = keyring()
    token = ring[primary_id].encrypt(plaintext.encode()).decode()
    return f"{ENVELOPE_VERSION}:{primary_id}:{token}"


def _parse(ciphertext: str) -> tuple[str, str]:
    version, _, rest = ciphertext.partition(":")
    kid, _, token = rest.partition(":")
    if version != ENVELOPE_VERSION or not kid or not token:
        raise DecryptionError("Not a platform ciphertext envelope.")
    return kid, token


def decrypt(ciphertext: str) -> str:
    kid, token = _parse(ciphertext)
    _, ring = keyring()
    fernet = ring.get(kid)
    if fernet is None:
        raise DecryptionError(
            f"Secret encrypted with key {kid}, which is not in FIELD_ENCRYPTION_KEYS."
        )
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            f"Secret does not decrypt with key {kid}: corrupted or tampered."
        ) from None


def _is_envelope(value: str) -> bool:
    try:
        _parse(value)
    except DecryptionError:
        return False
    return True


def ciphertext_key_id(ciphertext: str) -> str:
    return _parse(ciphertext)[0]


def reencrypt(ciphertext: str) -> str:
    """The same secret under the newest key (MultiFernet.rotate); unchanged if already there."""
    kid, token = _parse(ciphertext)
    primary_id, ring = keyring()
    if kid == primary_id:
        return ciphertext
    if kid not in ring:
        raise DecryptionError(
            f"Secret encrypted with key {kid}, which is not in FIELD_ENCRYPTION_KEYS."
        )
    rotated = MultiFernet([ring[primary_id], ring[kid]]).rotate(token.encode()).decode()
    return f"{ENVELOPE_VERSION}:{primary_id}:{rotated}"


class Sealed:
    """A secret as the application holds it: ciphertext until someone calls reveal()."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str):
        self.ciphertext = ciphertext

    @classmethod
    def seal(cls, plaintext: str) -> "Sealed":
        return cls(encrypt(plaintext))

    def reveal(self) -> str:
        return decrypt(self.ciphertext)

    def reveal_json(self):
        return json.loads(self.reveal())

    def __repr__(self) -> str:
        return "<sealed secret>"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Sealed) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


class _SealingDescriptor:
    """Plaintext assigned to the attribute is sealed at once; empty means no secret (NULL)."""

    def __init__(self, field):
        self.field = field

    def __get__(self, instance, owner):
        if instance is None:
            return self
        attname = self.field.attname
        if attname not in instance.__dict__ and instance.pk is not None:
            # A deferred field (.only()/.defer()): load it, as Django's DeferredAttribute does,
            # instead of reading "no secret".
            instance.refresh_from_db(fields=[attname])
        return instance.__dict__.get(attname)

    def __set__(self, instance, value):
        if value is None or value == "":
            value = None
        elif isinstance(value, str):
            value = Sealed.seal(value)
        elif not isinstance(value, Sealed):
            raise TypeError(f"{self.field.name} takes a str secret or a Sealed value.")
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Stores `v1:<key id>:<token>`; the attribute is a Sealed value (or None)."""

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _SealingDescriptor(self))

    def from_db_value(self, value, expression, connection):
        return None if value in (None, "") else Sealed(value)

    def to_python(self, value):
        # Deserialization (loaddata) hands back what value_to_string wrote: an envelope. Keep it
        # as ciphertext; sealing it again would make the envelope itself the "secret".
        if isinstance(value, str) and _is_envelope(value):
            return Sealed(value)
        return value

    def formfield(self, **kwargs):
        # Never a plain form field: it would render `<sealed secret>` and save that text back.
        # Forms that take a secret use a write-only input of their own.
        return None

    def get_prep_value(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        if isinstance(value, str):
            return encrypt(value)
        raise TypeError("EncryptedTextField stores str secrets or Sealed values.")

    def value_to_string(self, obj):
        # Serialization (dumpdata) carries ciphertext, never plaintext.
        value = self.value_from_object(obj)
        return value.ciphertext if isinstance(value, Sealed) else ""
