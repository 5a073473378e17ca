"""Definition validation: every error names the field and says how to fix it."""

import socket

import pytest

from infrastructure.errors import RuleViolation
from services.validation import definition_validate, fixed_host_part
from tests.services.builders import oauth2_definition, token_definition

pytestmark = pytest.mark.django_db


def refused(values, **kwargs) -> RuleViolation:
    base = {"pkce": True, "credential_header_name": "Authorization"}
    with pytest.raises(RuleViolation) as caught:
        definition_validate(values={**base, **values}, client_secret="x", **kwargs)
    return caught.value


def accepted(values, **kwargs) -> None:
    base = {"pkce": True, "credential_header_name": "Authorization"}
    definition_validate(values={**base, **values}, client_secret="x", **kwargs)


def test_complete_oauth2_and_token_definitions_are_accepted():
    accepted(oauth2_definition())
    accepted(token_definition())


@pytest.mark.parametrize(
    ("values", "field", "hint"),
    [
        (oauth2_definition(name=""), "name", "name"),
        (oauth2_definition(auth_scheme="saml"), "auth_scheme", "oauth2"),
        (oauth2_definition(grant_type="implicit"), "grant_type", "authorization_code"),
        (oauth2_definition(token_url=""), "token_url", "token URL"),
        (oauth2_definition(authorize_url=""), "authorize_url", "authorization URL"),
        (oauth2_definition(client_id=""), "client_id", "client id"),
        (token_definition(grant_type="password"), "grant_type", "only oauth2"),
        (
            oauth2_definition(auth_scheme="oauth1", grant_type="", discouraged_acknowledged=True),
            "request_token_url",
            "request-token URL",
        ),
        (token_definition(credential_header_name=""), "credential_header_name", "header"),
        (
            token_definition(credential_placement="query"),
            "credential_query_param",
            "query parameter",
        ),
        (token_definition(scopes_available=["read"]), "scopes_available", "no scopes"),
        (
            oauth2_definition(scopes_default=["admin"]),
            "scopes_default",
            "not among the available scopes",
        ),
        (oauth2_definition(default_token_lifetime=0), "default_token_lifetime", "never"),
        (oauth2_definition(expired_status_codes=[200]), "expired_status_codes", "400"),
        (oauth2_definition(access_token_lifetime=-5), "access_token_lifetime", "positive"),
        (oauth2_definition(umbrella_status="gold"), "umbrella_status", "verified"),
        (
            oauth2_definition(parameters=[{"name": "1bad"}]),
            "parameters[0].name",
            "starts with a letter",
        ),
        (
            oauth2_definition(parameters=[{"name": "subdomain"}, {"name": "subdomain"}]),
            "parameters[1].name",
            "twice",
        ),
        (
            oauth2_definition(parameters=[{"name": "subdomain", "pattern": "(["}]),
            "parameters[0].pattern",
            "regular expression",
        ),
        (
            oauth2_definition(parameters=[{"name": "subdomain", "type": "date"}]),
            "parameters[0].type",
            "string",
        ),
        (
            oauth2_definition(parameters=[{"name": "subdomain", "colour": "red"}]),
            "parameters[0]",
            "unknown key",
        ),
        (
            oauth2_definition(
                parameters=[{"name": "subdomain"}, {"name": "k", "secret": True, "default": "v"}]
            ),
            "parameters[1].default",
            "no default",
        ),
        (oauth2_definition(token_params={"audience": 5}), "token_params", "text values"),
    ],
)
def test_each_definition_error_names_its_field(values, field, hint):
    error = refused(values)
    assert error.field == field
    assert hint in error.message


def test_client_secret_is_needed_without_pkce():
    values = {**oauth2_definition(), "pkce": False, "credential_header_name": "Authorization"}
    with pytest.raises(RuleViolation) as caught:
        definition_validate(values=values)
    assert caught.value.field == "client_secret"
    definition_validate(values={**values, "pkce": True})


def test_client_credentials_grant_needs_token_url_and_secret_but_no_authorize_url():
    values = oauth2_definition(grant_type="client_credentials", authorize_url="")
    accepted(values)
    with pytest.raises(RuleViolation) as caught:
        definition_validate(values={**values, "credential_header_name": "Authorization"})
    assert caught.value.field == "client_secret"


def test_undeclared_placeholder_is_named():
    error = refused(oauth2_definition(base_url="https://{{region}}.acme-crm.example/api"))
    assert error.field == "base_url"
    assert "{{region}}" in error.message and "add a parameter named 'region'" in error.message


def test_placeholders_are_checked_in_extra_params_and_client_credentials():
    assert refused(oauth2_definition(authorize_params={"aud": "{{audience}}"})).field == (
        "authorize_params.aud"
    )
    assert refused(oauth2_definition(client_id="{{app_id}}")).field == "client_id"
    with pytest.raises(RuleViolation) as caught:
        definition_validate(
            values={**oauth2_definition(), "credential_header_name": "Authorization"},
            client_secret="{{app_secret}}",
        )
    assert caught.value.field == "client_secret"


def test_placeholder_filling_the_client_secret_must_be_a_secret_parameter():
    values = oauth2_definition(
        parameters=[{"name": "subdomain"}, {"name": "app_secret"}],
        credential_header_name="Authorization",
    )
    with pytest.raises(RuleViolation) as caught:
        definition_validate(values=values, client_secret="{{app_secret}}")
    assert "mark it secret" in caught.value.message
    values["parameters"][1]["secret"] = True
    definition_validate(values=values, client_secret="{{app_secret}}")


def test_token_response_parameter_declares_a_placeholder():
    accepted(
        oauth2_definition(
            base_url="{{instance_url}}/services/data",
            token_response_parameters={"instance_url": "instance_url"},
        )
    )


def test_plain_http_is_refused(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    error = refused(oauth2_definition(token_url="http://{{subdomain}}.acme-crm.example/token"))
    assert error.field == "token_url"
    assert "https://" in error.message and "local development" in error.message


def test_plain_http_and_loopback_are_allowed_for_local_development(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    accepted(oauth2_definition(token_url="http://127.0.0.1:8123/o/token/"))


@pytest.mark.parametrize("url", ["ftp://files.example/x", "acme-crm.example/token", "https://"])
def test_urls_without_https_scheme_or_host_are_refused(url):
    assert refused(oauth2_definition(token_url=url)).field == "token_url"


def test_credentials_inside_urls_are_refused():
    error = refused(token_definition(base_url="https://user:pw@api.weather.example/v1"))
    assert error.field == "base_url" and "credentials" in error.message


def test_discouraged_schemes_need_acknowledgement():
    password = oauth2_definition(grant_type="password", authorize_url="")
    error = refused(password)
    assert error.field == "discouraged_acknowledged" and "password grant" in error.message
    accepted({**password, "discouraged_acknowledged": True})
    oauth1 = oauth2_definition(
        auth_scheme="oauth1",
        grant_type="",
        request_token_url="https://{{subdomain}}.acme-crm.example/oauth/request_token",
    )
    assert refused(oauth1).field == "discouraged_acknowledged"
    accepted({**oauth1, "discouraged_acknowledged": True})


# --- SSRF: hosts that stand for internal addresses ----------------------------------------------


INTERNAL_HOSTS = [
    "127.0.0.1",
    "[::1]",
    "10.0.0.1",
    "169.254.169.254",
    "100.100.100.200",
    "[64:ff9b::a9fe:a9fe]",  # NAT64 form of 169.254.169.254
    "[2002:a9fe:a9fe::]",  # 6to4 form of 169.254.169.254
    "0.0.0.0",
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f.1",  # 127.0.0.1 in hex shorthand
    "192.168.1.10",
    "[::ffff:10.0.0.1]",  # IPv4-mapped
]


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_internal_address_hosts_are_refused(host, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    error = refused(token_definition(base_url=f"https://{host}/v1"))
    assert error.field == "base_url"
    assert "private, loopback, link-local or metadata" in error.message
    assert "on-prem allowed hosts" in error.message


def test_name_resolving_to_a_private_address_is_refused(monkeypatch, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "intranet.acme.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    error = refused(token_definition(base_url="https://intranet.acme.example/v1"))
    assert error.field == "base_url"
    # Says the host is not public, never where an internal name points.
    assert "'intranet.acme.example' is not public" in error.message
    assert "10.1.2.3" not in error.message


def test_public_address_is_accepted(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    accepted(token_definition(base_url="https://93.184.215.14/v1"))


def test_onprem_allow_listed_host_is_accepted(tenant, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    tenant.organization.onprem_allowed_hosts = ["10.0.0.1"]
    accepted(token_definition(base_url="https://10.0.0.1/v1"), organization=tenant.organization)
    with pytest.raises(RuleViolation):
        definition_validate(
            values=token_definition(base_url="https://10.0.0.2/v1", credential_header_name="X"),
            organization=tenant.organization,
        )


@pytest.mark.parametrize(
    ("host", "fixed"),
    [
        ("{{shop}}.myshopify.com", "myshopify.com"),
        ("api-{{region}}.example.com", "example.com"),
        ("{{host}}", ""),
        ("api.example.com", "api.example.com"),
    ],
)
def test_fixed_part_of_a_placeholder_host(host, fixed):
    assert fixed_host_part(host) == fixed


def test_placeholder_host_is_checked_on_its_fixed_part(monkeypatch, settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = False
    seen = []

    def resolver(host, *args, **kwargs):
        seen.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    error = refused(
        token_definition(
            base_url="https://{{tenant}}.corp.example/v1",
            parameters=[{"name": "tenant"}],
        )
    )
    assert seen == ["corp.example"]
    assert error.field == "base_url" and "corp.example" in error.message


@pytest.mark.parametrize("field", ["icon", "documentation_url"])
def test_icon_and_documentation_links_must_be_https(field):
    error = refused(token_definition(**{field: "javascript:alert(1)"}))
    assert error.field == field
