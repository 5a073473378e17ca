"""Service parameters: the values a person fills in when authenticating (a shop domain, a region,
a tenant id), validated against the service's declaration and substituted into its
`{{placeholders}}` (URLs, base URL, client id and secret).

Secret parameters are stored sealed (Authentication.secret_parameters) and never echoed in errors.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from infrastructure.encryption import Sealed
from infrastructure.errors import RuleViolation
from infrastructure.user_patterns import PatternError, pattern_fullmatch

# A value is a shop name, a region, a tenant id: short. The cap also bounds the work of checking it.
MAX_VALUE_LENGTH = 2000
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


@dataclass(frozen=True)
class ParameterValues:
    """Public and secret parameter values of one authentication (or pending OAuth transaction)."""

    public: dict = field(default_factory=dict)
    secret: dict = field(default_factory=dict, repr=False)

    def merged(self) -> dict:
        return {**self.public, **self.secret}

    def sealed_secret(self) -> str | None:
        """The secret values as JSON to assign to an EncryptedTextField (None when empty)."""
        return json.dumps(self.secret) if self.secret else None

    @classmethod
    def of(cls, obj) -> "ParameterValues":
        """From an Authentication or an OAuthTransaction."""
        sealed = obj.secret_parameters
        secret = sealed.reveal_json() if isinstance(sealed, Sealed) else {}
        return cls(public=dict(obj.parameters or {}), secret=secret)


def _declared(service) -> list[dict]:
    return [p for p in (service.parameters or []) if isinstance(p, dict) and p.get("name")]


def _matches(service, name: str, title: str, pattern: str, value: str) -> bool:
    """Declared patterns are people's input: RE2 runs them, in time linear in the value."""
    try:
        return pattern_fullmatch(pattern, value)
    except PatternError as error:
        raise RuleViolation(
            f"The pattern {service.name} declares for '{title}' cannot be used ({error}); ask the "
            "service's owner to rewrite it in RE2 syntax.",
            field=f"parameters.{name}",
        ) from None


def parameters_validate(
    *, service, values: Mapping | None, existing: ParameterValues | None = None
) -> ParameterValues:
    """Check the values a person gave against the service's declared parameters.

    Unknown names, missing required values and values not matching the declared pattern are
    refused with a field error naming the parameter. When re-authenticating, values not given
    again are kept from `existing`.
    """
    values = dict(values or {})
    declared = {p["name"]: p for p in _declared(service)}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        names = ", ".join(sorted(declared)) or "none"
        raise RuleViolation(
            f"'{unknown[0]}' is not a parameter of {service.name} (its parameters: {names}).",
            field=f"parameters.{unknown[0]}",
        )
    previous = existing.merged() if existing else {}
    public, secret = {}, {}
    for name, spec in declared.items():
        value = values.get(name, previous.get(name, spec.get("default")))
        if isinstance(value, bool):
            value = "true" if value else "false"
        value = "" if value is None else str(value).strip()
        title = spec.get("title") or name
        if not value:
            if spec.get("required"):
                raise RuleViolation(
                    f"'{title}' is required by {service.name}: give a value for parameter '{name}'.",
                    field=f"parameters.{name}",
                )
            continue
        if len(value) > MAX_VALUE_LENGTH:
            raise RuleViolation(
                f"The value of '{title}' has {len(value):,} characters; give at most "
                f"{MAX_VALUE_LENGTH:,} characters for parameter '{name}'.",
                field=f"parameters.{name}",
            )
        pattern = spec.get("pattern")
        if pattern and not _matches(service, name, title, pattern, value):
            shown = "the value" if spec.get("secret") else f"'{value}'"
            raise RuleViolation(
                f"{shown} does not match the pattern {pattern} that {service.name} declares for "
                f"'{title}'.",
                field=f"parameters.{name}",
            )
        (secret if spec.get("secret") else public)[name] = value
    return ParameterValues(public=public, secret=secret)


def resolve_placeholders(template: str, values: Mapping, *, what: str) -> str:
    """Substitute `{{name}}` in a non-URL value (client id, client secret, header value)."""

    def replace(match):
        name = match.group(1)
        if name not in values:
            raise RuleViolation(
                f"The {what} uses {{{{{name}}}}}, but this authentication has no value for "
                f"parameter '{name}'.",
                field=f"parameters.{name}",
            )
        return str(values[name])

    return PLACEHOLDER.sub(replace, template or "")


def resolve_url(template: str, values: Mapping, *, what: str) -> str:
    """Substitute `{{name}}` in a URL.

    Values are percent-encoded so a value cannot change the URL's structure (a shop name of
    `evil.example/x?` must not move the host). The one exception: a placeholder that opens the
    URL may hold a whole http(s) origin, e.g. Salesforce's `{{instance_url}}/services/data`.
    """

    def replace(match):
        name = match.group(1)
        if name not in values:
            raise RuleViolation(
                f"The {what} uses {{{{{name}}}}}, but this authentication has no value for "
                f"parameter '{name}'.",
                field=f"parameters.{name}",
            )
        value = str(values[name])
        if match.start() == 0 and value.lower().startswith(("https://", "http://")):
            parts = urlsplit(value)
            if not parts.hostname or parts.username or parts.password:
                raise RuleViolation(
                    f"Parameter '{name}' must be an http(s) origin to open the {what}.",
                    field=f"parameters.{name}",
                )
            return value.rstrip("/")
        return quote(value, safe="")

    return PLACEHOLDER.sub(replace, template or "")
