"""A full flow (browser authorization, API calls, refresh, 401 replay, reads through the API) leaves
no token string in any database column (read raw), any API response or any log record."""

import logging

import pytest
from django.db import connection
from django.urls import reverse

from connections import http_client
from connections.http_client import http_request
from connections.token_auth import authentication_create_token
from events.models import AuthEvent
from lifecycle.refresh import authentication_refresh
from tests.connections.helpers import (
    auth_from_result,
    browser,
    connect,
    custom_service,
    oauth2_service,
    org_kwargs,
)


def raw_database_text() -> str:
    """Every column of every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
            for row in cursor.fetchall():
                chunks.append(" ".join(str(value) for value in row))
    return "\n".join(chunks)


@pytest.mark.django_db
def test_full_flow_leaks_no_token(tenant, server, resource_owner, caplog, api):
    caplog.set_level(logging.DEBUG)
    service = oauth2_service(tenant, server)
    client = browser(tenant.contributor)
    responses = []

    callback, start = connect(client, tenant, service, server, resource_owner)
    responses.append(client.get(callback["Location"]))
    auth = auth_from_result(client, callback)
    secrets = {
        "code_verifier": server.last_token_request()["form"]["code_verifier"],
        "client_secret": service.client_secret.reveal(),
        "first_access_token": auth.access_token.reveal(),
        "first_refresh_token": auth.refresh_token.reveal(),
    }

    http_request(authentication=auth, method="GET", path_or_url="/echo")
    server.expire_access_tokens()
    replayed = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert replayed.refreshed
    auth = authentication_refresh(authentication_id=auth.pk, force=True)
    secrets["last_access_token"] = auth.access_token.reveal()
    secrets["last_refresh_token"] = auth.refresh_token.reveal()
    assert len(set(secrets.values())) == len(secrets)

    member = api.as_user(tenant.contributor)
    kwargs = {**org_kwargs(tenant), "pk": auth.pk}
    responses.append(member.get(reverse("authentication-list", kwargs=org_kwargs(tenant))))
    responses.append(member.get(reverse("authentication-detail", kwargs=kwargs)))
    responses.append(
        member.post(reverse("authentication-request", kwargs=kwargs), {"path": "/echo"})
    )
    responses.append(member.patch(reverse("authentication-detail", kwargs=kwargs), {"name": "n"}))

    database = raw_database_text()
    assert str(auth.pk) in database  # the scan does read the rows
    logs = "\n".join(
        f"{record.getMessage()} {record.args!r} {getattr(record, 'exc_text', '')}"
        for record in caplog.records
    )
    assert caplog.records  # the scan does read log records
    for name, value in secrets.items():
        assert value not in database, f"{name} found in the database"
        assert value not in logs, f"{name} found in the logs"
        for response in responses:
            assert value.encode() not in response.content, f"{name} in {response.request}"


@pytest.mark.django_db
def test_token_sent_as_query_parameter_is_not_logged(tenant, server, resource_owner, caplog):
    from tests.connections.test_http_client import password_auth

    caplog.set_level(logging.DEBUG)
    auth = password_auth(
        tenant, server, resource_owner, credential_placement="query",
        credential_query_param="access_token",
    )  # fmt: skip
    result = http_request(authentication=auth, method="GET", path_or_url="/echo")
    assert result.json()["auth"]["type"] == "query"
    token = auth.access_token.reveal()
    assert token not in "\n".join(record.getMessage() for record in caplog.records)
    assert token.encode() not in result.body


SECTION = "secret-section-0123456789"
KEY = "api-key-0123456789abcdef"


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_no_secret_of_an_auth_reaches_a_response_event_log_or_error_page(
    tenant, server, api, caplog, settings, monkeypatch, debug
):
    """Every secret of a token auth (its key, a secret parameter in its base URL): through the
    API, a reflecting endpoint, a refusal, and an unexpected failure in the middle of a call whose
    error page is rendered as configured (DEBUG's technical page included)."""
    caplog.set_level(logging.DEBUG)
    server.set_api_key(KEY, header="X-Api-Key")
    service = custom_service(
        tenant,
        base_url=server.base_url + "/api/echo/{{section}}",
        credential_header_name="X-Api-Key",
        credential_prefix="",
        parameters=[{"name": "section", "secret": True}],
    )
    auth = authentication_create_token(
        actor=tenant.actor(tenant.owner),
        service=service,
        credentials={"api_key": KEY},
        parameters={"section": SECTION},
    )
    member = api.as_user(tenant.owner)
    call = reverse("authentication-request", kwargs={**org_kwargs(tenant), "pk": auth.pk})
    responses = [
        member.post(call, {"path": "/reflect"}, format="json"),
        member.post(call, {"path": "/{{section}}"}, format="json"),
        member.post(call, {"path": "/x", "headers": {"x-api-key ": "mine"}}, format="json"),
    ]
    assert responses[0].status_code == 200 and responses[1].status_code == 400

    def fail_mid_call(result, secrets):
        raise RuntimeError("an unexpected failure after the answer arrived")

    monkeypatch.setattr(http_client, "_scrub", fail_mid_call)
    settings.DEBUG = debug
    api.raise_request_exception = False
    failed = member.post(call, {"path": "/boom"}, format="json")
    assert failed.status_code == 500
    responses.append(failed)

    events = " ".join(
        f"{e.message} {e.data}" for e in AuthEvent.objects.filter(authentication_ref=auth.pk)
    )
    logs = "\n".join(
        f"{record.getMessage()} {record.args!r} {getattr(record, 'exc_text', '')}"
        for record in caplog.records
    )
    for secret in (KEY, SECTION):
        assert secret not in events
        assert secret not in logs
        for response in responses:
            assert secret.encode() not in response.content, response.content[:2000]
