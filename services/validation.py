"""Validation of a service definition, with errors that name the field and say how to fix it.

A definition is a dict of Service field names (see DEFINITION_FIELDS). The same checks serve custom
services (API and admin), generic service authentications and the connector catalog:

- scheme completeness: an oauth2 service needs a token URL, and so on;
- URLs: https only (plain http only when settings.EGRESS_ALLOW_INSECURE_LOCAL is on, for local
  development), no credentials inside URLs;
- every `{{placeholder}}` is declared, as a parameter or as a token-response parameter;
- hosts: a literal host that resolves to a private, loopback, link-local, CGNAT, metadata or any
  other non-public address is refused unless the organization has allow-listed it as an on-prem
  host. A host with placeholders (`{{shop}}.myshopify.com`) is checked on its fixed part. A name
  that does not resolve right now is accepted: the egress module checks every address again at
  connect time, so this check is an early, friendly refusal and not the only guard;
- discouraged schemes (OAuth 2.0 password grant, OAuth 1.0a) need discouraged_acknowledged=True,
  and always carry a warning (services/notices.py).

`definition_problems` lists every problem (a RuleViolation with `field` set), in the order a person
would fix them; `definition_validate` raises them as one DefinitionInvalid: the API answers with the
first, the admin form shows them all beside their fields.
"""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from infrastructure.egress import EgressPolicy, resolve_host
from infrastructure.errors import RuleViolation
from infrastructure.text import name_check
from infrastructure.user_patterns import PatternError, pattern_compile
from services.models import (
    AuthScheme,
    ClientAuthMethod,
    CredentialPlacement,
    GrantType,
    Service,
    UmbrellaStatus,
)
from services.notices import discouraged_scheme_warning

# `{{` anything but braces `}}`, stripped afterwards. (Not `\{\{\s*([^{}]*?)\s*\}\}`: on an unclosed
# `{{` followed by spaces the lazy group and the two \s* try every split, cubic in the length.)
PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PARAMETER_TYPES = ("string", "number", "boolean", "url")
PARAMETER_KEYS = {
    "name",
    "title",
    "type",
    "required",
    "secret",
    "pattern",
    "default",
    "description",
}

URL_FIELDS = ("authorize_url", "token_url", "refresh_url", "revoke_url", "request_token_url")
ALL_URL_FIELDS = (*URL_FIELDS, "base_url")

# The fields a definition is made of: identity, scheme, endpoints, API calls, parameters,
# token-response handling and the umbrella application. client_secret is handled apart (sealed).
DEFINITION_FIELDS = (
    "slug",
    "name",
    "icon",
    "description",
    "documentation_url",
    "auth_scheme",
    "grant_type",
    "pkce",
    "discouraged_acknowledged",
    "authorize_url",
    "token_url",
    "refresh_url",
    "revoke_url",
    "request_token_url",
    "issuer",
    "scopes_available",
    "scopes_default",
    "scope_separator",
    "authorize_params",
    "token_params",
    "refresh_params",
    "client_auth_method",
    "client_id",
    "base_url",
    "credential_placement",
    "credential_header_name",
    "credential_prefix",
    "credential_query_param",
    "test_path",
    "parameters",
    "default_token_lifetime",
    "token_path",
    "token_response_parameters",
    "expired_status_codes",
    "rotates_refresh_tokens",
    "refresh_lead_seconds",
    "token_request_timeout",
    "umbrella_status",
    "access_token_lifetime",
    "refresh_token_max_age",
    "refresh_token_idle_timeout",
    "test_refresh_token_lifetime",
    "test_exempt_scopes",
)

LIFETIME_FIELDS = (
    "access_token_lifetime",
    "refresh_token_max_age",
    "refresh_token_idle_timeout",
    "test_refresh_token_lifetime",
    "refresh_lead_seconds",
)


class DefinitionInvalid(RuleViolation):
    """A definition with problems: the first one as the message and field (what the API answers),
    and `problems`, every problem found, for a form that shows them all at once beside their
    fields."""

    def __init__(self, problems: list[RuleViolation]):
        first = problems[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.problems = problems


def _problem(field: str, message: str) -> RuleViolation:
    return RuleViolation(f"{field}: {message}", field=field)


def _fail(field: str, message: str):
    raise _problem(field, message)


def placeholders_in(text: str) -> list[str]:
    return [m.strip() for m in PLACEHOLDER.findall(text or "")]


# --- hosts ---------------------------------------------------------------------------------------


def fixed_host_part(host: str) -> str:
    """The part of a host name that no placeholder can change: the labels after the last label
    that holds a placeholder. `{{shop}}.myshopify.com` -> `myshopify.com`; `{{host}}` -> ``."""
    if "{{" not in host:
        return host
    labels = host.split(".")
    last = max(i for i, label in enumerate(labels) if "{{" in label or "}}" in label)
    return ".".join(labels[last + 1 :])


def _literal_address(host: str):
    """An IP address written in the URL, in any form a resolver accepts (dotted, decimal like
    2130706433, octal or hex IPv4 shorthand, IPv6), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and not re.search(r"[a-wyzA-WYZ]", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_addresses(host: str) -> list:
    """Every address a host stands for: itself when it is an address, else what it resolves to
    through the egress module's resolver (empty when it does not resolve now)."""
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    try:
        return resolve_host(host)
    except (socket.gaierror, UnicodeError, OSError):
        return []


def host_check(*, field: str, host: str, policy: EgressPolicy) -> None:
    """Refuse a host that stands for a non-public address, unless allow-listed on-prem (and then
    only a private-network address: never loopback, link-local or metadata)."""
    checked = fixed_host_part(host).strip(".").lower()
    if not checked:
        return
    name = host.lower() if host.lower() in policy.allowed_hosts else checked
    if not all(policy.address_allowed(name, ip) for ip in host_addresses(checked)):
        # Never say what the name resolves to: that would map internal names for a tenant.
        _fail(
            field,
            f"the host '{checked}' is not public: the platform does not call private, loopback, "
            "link-local or metadata addresses. If it is a system on your own network, ask the "
            "organization owner to add it to the on-prem allowed hosts.",
        )


# --- URLs ----------------------------------------------------------------------------------------


def url_check(*, field: str, url: str, policy: EgressPolicy | None) -> None:
    if not url:
        return
    if url.lstrip().startswith("{{"):
        # The scheme and host come from a value filled in later (e.g. Salesforce's instance URL
        # from the token response); the egress module checks them when the call is made.
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        _fail(field, f"'{url}' is not a valid URL; write it as https://host/path.")
    allow_http = settings.EGRESS_ALLOW_INSECURE_LOCAL
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_http):
        _fail(
            field,
            f"use an https:// URL (got '{url}'). Plain http is allowed only when the platform "
            "runs for local development.",
        )
    if not host:
        _fail(field, f"'{url}' has no host; write it as https://host/path.")
    if parts.username or parts.password:
        _fail(
            field,
            "remove the user name and password from the URL; credentials are sent as the auth "
            "scheme says, never inside URLs.",
        )
    if policy is not None:
        host_check(field=field, host=host, policy=policy)


# --- the definition ------------------------------------------------------------------------------


def _check_parameters(parameters, declared: dict[str, dict]):
    """Yield the problems of the parameters; fills `declared` (name -> parameter) on the way."""
    if not isinstance(parameters, list):
        yield _problem("parameters", 'give a list of parameters, e.g. [{"name": "shop", ...}].')
        return
    for index, parameter in enumerate(parameters):
        where = f"parameters[{index}]"
        if not isinstance(parameter, dict):
            yield _problem(where, "each parameter is an object with at least a name.")
            continue
        unknown = set(parameter) - PARAMETER_KEYS
        if unknown:
            yield _problem(
                where,
                f"unknown key(s) {', '.join(sorted(unknown))}; use only "
                f"{', '.join(sorted(PARAMETER_KEYS))}.",
            )
            continue
        name = parameter.get("name")
        if not isinstance(name, str) or not PARAMETER_NAME.match(name):
            yield _problem(
                f"{where}.name",
                "a parameter name starts with a letter or _ and has only letters, digits and _.",
            )
        elif name in declared:
            yield _problem(
                f"{where}.name", f"the parameter '{name}' is declared twice; rename one."
            )
        if isinstance(parameter.get("title"), str):
            try:
                name_check(
                    parameter["title"], field=f"{where}.title", what=f"{where}.title: a title"
                )
            except RuleViolation as problem:
                yield problem
        kind = parameter.get("type", "string")
        if kind not in PARAMETER_TYPES:
            yield _problem(f"{where}.type", f"choose one of {', '.join(PARAMETER_TYPES)}.")
        pattern = parameter.get("pattern")
        if pattern:
            try:
                pattern_compile(pattern)
            except PatternError as error:
                yield _problem(
                    f"{where}.pattern",
                    f"not a regular expression the platform can run: {error}. Patterns use RE2 "
                    "syntax, which runs in linear time (https://github.com/google/re2/wiki/Syntax).",
                )
        if parameter.get("secret") and parameter.get("default") not in (None, ""):
            yield _problem(
                f"{where}.default",
                "a secret parameter has no default; its value is entered when authenticating.",
            )
        for flag in ("required", "secret"):
            if flag in parameter and not isinstance(parameter[flag], bool):
                yield _problem(f"{where}.{flag}", "use true or false.")
        if isinstance(name, str) and name not in declared:
            declared[name] = parameter


def _str_dict_problem(field: str, value):
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return _problem(field, 'give an object of text values, e.g. {"access_type": "offline"}.')
    return None


def _check_scopes(values: dict):
    shapes_ok = True
    for field in ("scopes_available", "scopes_default", "test_exempt_scopes"):
        scopes = values.get(field) or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
            shapes_ok = False
            yield _problem(field, 'give a list of scope names, e.g. ["read", "write"].')
    if not shapes_ok:
        return
    available = values.get("scopes_available") or []
    missing = [s for s in values.get("scopes_default") or [] if available and s not in available]
    if missing:
        yield _problem(
            "scopes_default",
            f"{', '.join(missing)}: not among the available scopes; add them there or "
            "remove them here.",
        )
    if values.get("auth_scheme") == AuthScheme.TOKEN and (
        values.get("scopes_available") or values.get("scopes_default")
    ):
        yield _problem("scopes_available", "token services have no scopes; remove them.")


def _check_scheme(values: dict, *, has_client_secret: bool, require_client: bool):
    scheme = values.get("auth_scheme")
    if scheme not in AuthScheme.values:
        yield _problem("auth_scheme", f"choose one of {', '.join(AuthScheme.values)}.")
        return
    grant = values.get("grant_type") or ""
    if scheme == AuthScheme.OAUTH2:
        if grant not in GrantType.values:
            yield _problem(
                "grant_type", f"an OAuth 2.0 service needs one of {', '.join(GrantType.values)}."
            )
            return
        if grant == GrantType.AUTHORIZATION_CODE and not values.get("authorize_url"):
            yield _problem(
                "authorize_url",
                "an OAuth 2.0 authorization-code service needs the provider's authorization URL.",
            )
        if not values.get("token_url"):
            yield _problem("token_url", "an OAuth 2.0 service needs the provider's token URL.")
    elif grant:
        yield _problem(
            "grant_type", f"only oauth2 services have a grant type; leave it empty for {scheme}."
        )
    if scheme == AuthScheme.OAUTH1:
        for field, what in (
            ("request_token_url", "request-token URL"),
            ("authorize_url", "authorization URL"),
            ("token_url", "access-token URL"),
        ):
            if not values.get(field):
                yield _problem(field, f"an OAuth 1.0a service needs the provider's {what}.")
    if scheme in (AuthScheme.OAUTH2, AuthScheme.OAUTH1) and require_client:
        if not values.get("client_id"):
            yield _problem(
                "client_id",
                "enter the client id of the OAuth app you registered with the provider (or a "
                "{{placeholder}} filled in when authenticating).",
            )
        secret_needed = scheme == AuthScheme.OAUTH1 or grant != GrantType.AUTHORIZATION_CODE
        if secret_needed and not has_client_secret:
            yield _problem("client_secret", "enter the client secret of the OAuth app.")
        elif scheme == AuthScheme.OAUTH2 and not values.get("pkce", True) and not has_client_secret:
            yield _problem(
                "client_secret",
                "without PKCE an authorization-code service needs a client secret; enter it or "
                "switch PKCE on.",
            )
    if values.get("client_auth_method", ClientAuthMethod.BASIC) not in ClientAuthMethod.values:
        yield _problem("client_auth_method", f"choose one of {', '.join(ClientAuthMethod.values)}.")
    placement = values.get("credential_placement") or CredentialPlacement.HEADER
    if placement not in CredentialPlacement.values:
        yield _problem(
            "credential_placement", f"choose one of {', '.join(CredentialPlacement.values)}."
        )
    elif placement == CredentialPlacement.HEADER and not values.get("credential_header_name"):
        yield _problem(
            "credential_header_name", "name the header the credential goes in, e.g. Authorization."
        )
    elif placement == CredentialPlacement.QUERY and not values.get("credential_query_param"):
        yield _problem("credential_query_param", "name the query parameter the credential goes in.")
    elif placement == CredentialPlacement.BASIC and scheme != AuthScheme.TOKEN:
        yield _problem(
            "credential_placement", "basic placement is for token services (user name + key)."
        )
    warning = discouraged_scheme_warning(auth_scheme=scheme, grant_type=grant)
    if warning and not values.get("discouraged_acknowledged"):
        yield _problem(
            "discouraged_acknowledged",
            f"{warning} If the provider offers nothing else, acknowledge this warning.",
        )


def _check_lifetimes(values: dict):
    lifetime = values.get("default_token_lifetime", 3600)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        yield _problem(
            "default_token_lifetime",
            "give the access-token lifetime in seconds to assume when the provider sends no "
            "expires_in (a positive number; tokens are never assumed to live forever).",
        )
    for field in LIFETIME_FIELDS:
        value = values.get(field)
        if value is not None and (not isinstance(value, int) or value <= 0):
            yield _problem(
                field, "give a positive number of seconds, or leave it empty if unknown."
            )
    timeout = values.get("token_request_timeout")
    if timeout is not None and (
        not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 120
    ):
        yield _problem(
            "token_request_timeout",
            "give the seconds a token request may take, from 1 to 120, or leave it empty for the "
            "platform's default.",
        )
    codes = values.get("expired_status_codes") or []
    if not isinstance(codes, list) or not all(
        isinstance(c, int) and 400 <= c <= 599 for c in codes
    ):
        yield _problem(
            "expired_status_codes", "give HTTP status codes from 400 to 599, e.g. [401]."
        )
    if values.get("umbrella_status", UmbrellaStatus.UNKNOWN) not in UmbrellaStatus.values:
        yield _problem("umbrella_status", f"choose one of {', '.join(UmbrellaStatus.values)}.")


def _check_placeholders(values: dict, declared: dict[str, dict], client_secret: str | None):
    response_parameters = values.get("token_response_parameters") or {}
    shape = _str_dict_problem("token_response_parameters", response_parameters)
    if shape:
        yield shape
        response_parameters = {}
    known = set(declared) | set(response_parameters.values())
    texts = [(field, values.get(field) or "") for field in (*ALL_URL_FIELDS, "client_id")]
    for field in ("authorize_params", "token_params", "refresh_params"):
        params = values.get(field) or {}
        shape = _str_dict_problem(field, params)
        if shape:
            yield shape
            continue
        texts.extend((f"{field}.{key}", value) for key, value in params.items())
    if client_secret:
        texts.append(("client_secret", client_secret))
    for field, text in texts:
        for name in placeholders_in(text):
            if name not in known:
                yield _problem(
                    field,
                    f"the placeholder {{{{{name}}}}} is not declared; add a parameter named "
                    f"'{name}' or correct the placeholder.",
                )
                break  # one problem per field is enough to fix it
    for name in placeholders_in(client_secret or ""):
        if name in declared and not declared[name].get("secret"):
            yield _problem(
                "parameters",
                f"the parameter '{name}' fills in the client secret; mark it secret.",
            )


def _check_test_path(values: dict, declared: dict[str, dict]):
    """A path on the base URL, never a URL of its own: the test request carries the credentials,
    which go only where the service sends them (its base URL)."""
    path = values.get("test_path") or ""
    if not path:
        return
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        yield _problem(
            "test_path",
            f"give a path on the base URL that starts with /, e.g. /user (got '{path}').",
        )
        return
    if any(c.isspace() for c in path) or "\\" in path:
        yield _problem("test_path", "a path has no spaces or backslashes; percent-encode them.")
        return
    if not values.get("base_url"):
        yield _problem(
            "test_path", "the test path is called on the base URL: set the base URL first."
        )
        return
    for name in placeholders_in(path):
        if name not in declared:
            yield _problem(
                "test_path",
                f"the placeholder {{{{{name}}}}} is not declared; add a parameter named '{name}' "
                "or correct the placeholder.",
            )
            return


def _check_no_nulls(values: dict):
    """null where the definition holds a value (a list, a mapping, a number) would be saved as
    nothing at all: refused, naming the field."""
    for field in DEFINITION_FIELDS:
        model_field = Service._meta.get_field(field)
        if field in values and values[field] is None and not model_field.null:
            default = model_field.get_default()
            yield _problem(
                field,
                f"null is not a value here; send {default!r} for none, or leave the field out "
                "to keep what it is.",
            )


def _check_field_limits(values: dict):
    """The database's own limits (a text's length, an integer's range, a slug's characters),
    checked here so every way in (the API, the admin, a bundle) names the field instead of failing
    in the database as a server error."""
    for name in DEFINITION_FIELDS:
        value = values.get(name)
        field = Service._meta.get_field(name)
        text = isinstance(field, models.CharField) and isinstance(value, str) and value
        number = (
            isinstance(field, models.IntegerField)
            and isinstance(value, int)
            and not isinstance(value, bool)
        )
        if not (text or number):
            continue
        try:
            field.run_validators(value)
        except ValidationError as error:
            message = error.messages[0].replace("\u201c", '"').replace("\u201d", '"')
            yield _problem(name, message[0].lower() + message[1:])


def _raised(check, **kwargs):
    """The problem a raising check finds, as a list of zero or one."""
    try:
        check(**kwargs)
    except RuleViolation as problem:
        return [problem]
    return []


def definition_problems(
    *,
    values: dict,
    organization=None,
    client_secret: str | None = None,
    has_client_secret: bool = False,
    require_client: bool = True,
    check_hosts: bool = True,
) -> list[RuleViolation]:
    """Every problem of the definition, each a RuleViolation naming its field, in the order a
    person would fix them (at most one per field and check)."""
    problems: list[RuleViolation] = []
    if not (values.get("name") or "").strip():
        problems.append(_problem("name", "give the service a name."))
    nulls = list(_check_no_nulls(values))
    if nulls:
        # Every later check reads these values; with nulls in them it would only add confusion.
        return problems + nulls
    if values.get("name"):
        problems += _raised(name_check, name=values["name"], what="name: a service's name")
    problems += _check_scheme(
        values,
        has_client_secret=has_client_secret or bool(client_secret),
        require_client=require_client,
    )
    problems += _check_scopes(values)
    if not isinstance(values.get("scope_separator", " "), str):
        problems.append(
            _problem("scope_separator", 'give the text between scopes, usually " " or ",".')
        )
    declared: dict[str, dict] = {}
    problems += _check_parameters(values.get("parameters") or [], declared)
    problems += _check_placeholders(values, declared, client_secret)
    problems += _check_test_path(values, declared)
    problems += _check_lifetimes(values)
    problems += _check_field_limits(values)
    policy = EgressPolicy.for_organization(organization) if check_hosts else None
    for field in ALL_URL_FIELDS:
        problems += _raised(url_check, field=field, url=values.get(field) or "", policy=policy)
    for field in ("issuer", "icon", "documentation_url"):
        # Shown to people or compared, never called by the platform: form only, no host check.
        problems += _raised(url_check, field=field, url=values.get(field) or "", policy=None)
    return problems


def definition_validate(
    *,
    values: dict,
    organization=None,
    client_secret: str | None = None,
    has_client_secret: bool = False,
    require_client: bool = True,
    check_hosts: bool = True,
) -> None:
    """Raise DefinitionInvalid (a RuleViolation naming the first problem's field, with every
    problem in `problems`) when the definition has any problem.

    `client_secret` is a new plaintext secret being set (checked for placeholders);
    `has_client_secret` says a secret is set (new or kept). Catalog connectors pass
    require_client=False (an organization brings its own OAuth app) and check_hosts=False (no DNS
    at migrate time; the egress module still checks at connect time).
    """
    problems = definition_problems(
        values=values,
        organization=organization,
        client_secret=client_secret,
        has_client_secret=has_client_secret,
        require_client=require_client,
        check_hosts=check_hosts,
    )
    if problems:
        raise DefinitionInvalid(problems)
