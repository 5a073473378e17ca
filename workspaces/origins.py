"""An organization's allowed origins: the web origins (scheme://host[:port]) of the embedded
customer's own pages. A connect link returns the end user's browser only to one of them, and the
wizard pages (pages/wizard_views.py) may be framed only by them and post their messages only to
them.

An origin is compared exactly, as browsers compare them (RFC 6454): scheme and host in lower case,
the default port left out. https only, except on the local machine (localhost, 127.0.0.1, [::1])
where a developer runs the customer's app over http.
"""

import ipaddress
from urllib.parse import urlsplit

from infrastructure.errors import RuleViolation

MAX_ORIGINS = 50
MAX_LENGTH = 300
DEFAULT_PORTS = {"https": 443, "http": 80}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
ALLOWED_ORIGINS_SETTING = "the organization's allowed_origins"


def is_local_host(host: str) -> bool:
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return all(
        label and len(label) <= 63 and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
        for label in labels
    )


def origin_of(url: str) -> tuple[str | None, str]:
    """(origin, "") of an absolute http(s) URL, or (None, why not) for anything else."""
    if not isinstance(url, str) or not url or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return None, "give an absolute URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, "it is not a valid URL (check the port)"
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host:
        return None, "give an absolute https:// URL"
    if parts.username is not None or parts.password is not None:
        return None, "leave user names and passwords out of it"
    if not _host_ok(host):
        return None, (
            f"'{host}' is not a host name (no wildcards; international names in their xn-- form)"
        )
    if scheme == "http" and not is_local_host(host):
        return None, "use https (http is allowed on localhost only)"
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, DEFAULT_PORTS[scheme]) else f"{shown_host}:{port}"
    return f"{scheme}://{netloc}", ""


def allowed_origins_clean(values) -> list[str]:
    """The origins, normalized and without duplicates, or RuleViolation naming
    `allowed_origins[i]` and what to write instead."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RuleViolation(
            'allowed_origins: give a list of origins, e.g. ["https://app.example.com"].',
            field="allowed_origins",
        )
    if len(values) > MAX_ORIGINS:
        raise RuleViolation(
            f"allowed_origins: at most {MAX_ORIGINS} origins.", field="allowed_origins"
        )
    cleaned: list[str] = []
    for index, value in enumerate(values):
        where = f"allowed_origins[{index}]"
        shown = value[:100]
        if len(value) > MAX_LENGTH:
            raise RuleViolation(f"{where}: at most {MAX_LENGTH} characters.", field=where)
        origin, why = origin_of(value.strip())
        if origin is None:
            raise RuleViolation(
                f"{where}: '{shown}' is not an origin: {why}. Write scheme://host[:port], e.g. "
                "https://app.example.com.",
                field=where,
            )
        parts = urlsplit(value.strip())
        if parts.path not in ("", "/") or "?" in value or "#" in value:
            raise RuleViolation(
                f"{where}: '{shown}' has a path, query or fragment; an origin is only "
                f"scheme://host[:port] ({origin}).",
                field=where,
            )
        if origin not in cleaned:
            cleaned.append(origin)
    return cleaned


def origin_allowed(*, allowed_origins: list[str], url: str) -> bool:
    origin, _ = origin_of(url)
    return origin is not None and origin in (allowed_origins or [])
