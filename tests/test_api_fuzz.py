"""The API, fuzzed from its own OpenAPI schema (schemathesis): no input makes a server error.

Every operation of /api/schema/ gets FUZZ_EXAMPLES generated requests (bodies, query strings,
headers, path values) with a fixed seed, as the organization's owner (a personal API key), inside
an organization that holds one of everything: an auth in a shared workspace, a custom service, a
webhook, members, a project. Path parameters naming an object are pointed at those objects, so
requests reach the code behind the 404 rather than stopping there. The answer must be anything but
5xx.

Left out: the operations that revoke the key the fuzzer uses or hand the organization away
(EXCLUDED); they have their own tests. Run it alone, with more examples:

    FUZZ_EXAMPLES=200 bash scripts/test tests/test_api_fuzz.py
"""

import json
import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings

from connections.token_auth import authentication_create_token
from embedded.end_users import end_user_authentication_import, end_user_create
from embedded.instances import instance_create
from embedded.solutions import solution_create, solution_publish
from events.webhooks import webhook_create
from projects.projects import project_create
from services.catalog import catalog_load
from services.custom_services import custom_service_create
from services.models import Service, ServiceSource
from tests.conftest import build_tenant
from tests.services.builders import token_definition
from workspaces.api_key_management import user_api_key_create
from workspaces.models import Edition, Workspace, WorkspaceKind
from workspaces.shared_workspaces import workspace_create, workspace_member_add

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
EXCLUDED = {
    ("DELETE", "/api/me/api-keys/{prefix}/"),
    ("DELETE", "/api/organizations/{organization_slug}/api-keys/{prefix}/"),
    ("POST", "/api/organizations/{organization_slug}/transfer-ownership/"),
    ("POST", "/api/organizations/{organization_slug}/custom-services/{id}/transfer-ownership/"),
    ("POST", "/api/organizations/{organization_slug}/members/{id}/deactivate/"),
}


def api_schema():
    """The schema /api/schema/ serves, generated in-process (no server, no database)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    return schema.exclude(
        func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED
    )


schema = api_schema()
APP = get_wsgi_application()


@pytest.fixture
def in_test_transaction(db):
    """The requests run inside the test's transaction, as Django's test client runs them: the
    WSGI handler must not close the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def embedded_world(owner) -> dict:
    """The embedded edition's objects: a published solution, an end user with an imported auth,
    their instance bound to it."""
    workspace = Workspace.objects.get(organization=owner.organization, kind=WorkspaceKind.EMBEDDED)
    service = custom_service_create(
        actor=owner, definition=token_definition(name="Embedded API"), workspace=workspace
    )
    project = project_create(
        actor=owner,
        workspace=workspace,
        name="Embedded project",
        auth_slots=[{"external_id": "api", "title": "API", "service": service.pk}],
        config_slots=[{"external_id": "city", "title": "City", "default": "Oslo"}],
    )
    solution = solution_create(actor=owner, project=project)
    solution_publish(actor=owner, solution=solution)
    end_user = end_user_create(actor=owner, external_user_id="fuzzed-end-user")
    authentication = end_user_authentication_import(
        actor=owner,
        end_user=end_user,
        service=service,
        credentials={"api_key": "fuzz-end-user-key-0123456789"},
    )
    instance = instance_create(
        actor=owner,
        solution=solution,
        end_user=end_user,
        auth_values=[{"external_id": "api", "authentication_id": str(authentication.pk)}],
    )
    return {"solutions": solution.pk, "end-users": end_user.pk, "instances": instance.pk}


@pytest.fixture
def world(in_test_transaction):
    """One of everything, on both editions, and the owner's key."""
    tenant = build_tenant(edition=Edition.BOTH, name="Acme")
    owner = tenant.actor(tenant.owner)
    catalog_load()
    workspace = workspace_create(actor=owner, name="Fuzzed team")
    service = custom_service_create(actor=owner, definition=token_definition())
    authentication = authentication_create_token(
        actor=owner,
        service=service,
        credentials={"api_key": "fuzz-key-0123456789"},
        workspace=workspace,
    )
    webhook = webhook_create(
        actor=owner, url="https://hooks.example/fuzz", signing_secret="whsec-fuzz-0123456789"
    )
    _, key = user_api_key_create(user=tenant.owner, name="fuzzer")
    contributor = tenant.membership(tenant.contributor)
    workspace_member = workspace_member_add(
        actor=owner, workspace=workspace, membership=contributor
    )
    connector = Service.objects.filter(source=ServiceSource.CONNECTOR).first()
    project = project_create(
        actor=owner,
        workspace=workspace,
        name="Fuzzed project",
        auth_slots=[{"external_id": "api", "title": "API", "service": service.pk}],
        config_slots=[{"external_id": "city", "title": "City", "default": "Oslo"}],
        workflows=[
            {
                "name": "Forecast",
                "steps": [
                    {
                        "name": "Get",
                        "auth_slot": "api",
                        "request": {"method": "GET", "path": "/forecast/{{config.city}}"},
                    }
                ],
            }
        ],
    )
    by_collection = {
        "authentications": authentication.pk,
        "custom-services": service.pk,
        "services": service.pk,
        "webhooks": webhook.pk,
        "members": contributor.pk,
        "workspaces": workspace.pk,
        "projects": project.pk,
        **embedded_world(owner),
    }
    return {
        "key": key,
        "organization_slug": tenant.organization.slug,
        "authentication_pk": authentication.pk,
        "webhook_pk": webhook.pk,
        "workspace_pk": workspace.pk,
        "workspace_member": workspace_member.pk,
        "connector_slug": connector.slug if connector else "none",
        "by_collection": by_collection,
    }


def point_at_existing_objects(case, world) -> None:
    path = case.operation.path
    for name in list(case.path_parameters or {}):
        if name == "id":
            collection = re.search(r"/([a-z-]+)/\{id\}/", path).group(1)
            if collection == "members" and "{workspace_pk}" in path:
                case.path_parameters[name] = str(world["workspace_member"])
            elif collection in world["by_collection"]:
                case.path_parameters[name] = str(world["by_collection"][collection])
        elif name in world:
            case.path_parameters[name] = str(world[name])


# One pytest test runs every operation (schemathesis 4), so the suite's 300 s per-test timeout
# would be a budget for the whole API: on a loaded two-CPU machine it ran out mid-request. Allow
# the whole run 20 minutes; a hang still ends it.
@pytest.mark.timeout(1200)
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,  # the fixed seed: the same requests on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_makes_a_server_error(case, world):
    point_at_existing_objects(case, world)
    case.headers = {**(case.headers or {}), "Authorization": f"Api-Key {world['key']}"}
    with transaction.atomic():  # a savepoint: a failed request must not poison the next one
        response = case.call(app=APP)
    assert not is_server_error(response), (
        f"{response.status_code} for {case.as_curl_command()}\n{response.text[:2000]}"
    )


def is_server_error(response) -> bool:
    """5xx, except the platform's documented answer for a provider it could not reach."""
    if response.status_code < 500:
        return False
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return True
    return not (response.status_code == 502 and code == "upstream_error")
