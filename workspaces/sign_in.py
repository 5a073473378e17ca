"""How people sign in: where (the web address the sign-in page is at) and, for a person created
from the command line, with which first password.

The address is SITE_URL when set (the address people use, e.g. behind a proxy), else the address
the web server listens on (WEB_BIND, which config/gunicorn.py reads too), with a wildcard host
written as this machine's loopback address.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse

from infrastructure.errors import RuleViolation
from workspaces.models import User

# A server listening on every interface is reached on this machine at its loopback address.
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}  # noqa: S104


def site_address() -> str:
    """`scheme://host[:port]` where people reach the site."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    host, _, port = settings.WEB_BIND.rpartition(":")
    if not port.isdigit():  # a unix socket or a bare host: only SITE_URL can say
        return "http://127.0.0.1:8000"
    return f"http://{WILDCARD_HOSTS.get(host, host)}:{port}"


def sign_in_url() -> str:
    return site_address() + reverse("admin:index")


def person_get_or_create(*, email: str) -> tuple[User, str | None]:
    """The user with this email (any case), or a new one with a generated password, returned
    once, so the caller can hand it over (it is stored hashed only). Raises RuleViolation(field=
    "email") for an address that is not one."""
    try:
        validate_email(email)
    except ValidationError:
        raise RuleViolation("Enter a valid email address.", field="email") from None
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(12)
    return User.objects.create_user(email=email, password=password), password
