"""Builders for the embedded tests: projects made as rows (the projects app has its own tests),
end users, their auths made through the real flows, and the organization key that calls."""

import itertools

from django.test import Client
from rest_framework.test import APIClient

from connections.connection import new_connection_target
from connections.imported_tokens import ImportedTokens, oauth2_tokens_import
from connections.password_grant import authentication_create_password
from connections.token_auth import authentication_create_token
from embedded.codes import authorization_code_create
from embedded.models import CodePurpose
from embedded.solutions import solution_create, solution_publish
from projects.models import AuthSlot, ConfigSlot, Project, Workflow
from tests.connections.helpers import custom_service, oauth2_service, path_of
from workspaces.access import actor_for_end_user
from workspaces.models import EndUser, OrganizationAPIKey, Workspace, WorkspaceKind

_numbers = itertools.count(1)


def embedded_workspace(tenant) -> Workspace:
    return Workspace.objects.get(organization=tenant.organization, kind=WorkspaceKind.EMBEDDED)


def backend(tenant) -> APIClient:
    """The embedded customer's backend: an organization API key."""
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=tenant.organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def crm_service(tenant, server):
    """An OAuth 2.0 service on the loopback provider (password grant: the tests make end users'
    auths without a browser)."""
    return oauth2_service(tenant, server, grant_type="password", discouraged_acknowledged=True)


def make_project(tenant, *, auth_slots=(), config_slots=(), workflows=()) -> Project:
    project = Project.objects.create(
        organization=tenant.organization,
        workspace=embedded_workspace(tenant),
        name=f"Sync {next(_numbers)}",
    )
    for position, slot in enumerate(auth_slots):
        AuthSlot.objects.create(project=project, position=position, **slot)
    for position, slot in enumerate(config_slots):
        ConfigSlot.objects.create(project=project, position=position, **slot)
    for position, workflow in enumerate(workflows):
        Workflow.objects.create(project=project, position=position, **workflow)
    return project


def make_end_user(tenant, external_user_id=None) -> EndUser:
    return EndUser.objects.create(
        organization=tenant.organization,
        external_user_id=external_user_id or f"customer-user-{next(_numbers)}",
        name="Pat",
    )


def end_user_auth(end_user, service, server, *, scopes=None):
    """An auth the end user made (as the wizard would), with real tokens from the provider."""
    account = server.create_user(f"eu-{end_user.external_user_id}")
    return authentication_create_password(
        actor=actor_for_end_user(end_user),
        service=service,
        username=account["username"],
        password=account["password"],
        scopes=scopes,
    )


def browser_service(tenant, server, **fields):
    """An OAuth 2.0 service with the authorization code grant (PKCE) on the loopback provider:
    end users connect it in a browser, through a connect link."""
    return oauth2_service(tenant, server, **fields)


def allow_origins(tenant, *origins) -> None:
    tenant.organization.allowed_origins = list(origins)
    tenant.organization.save(update_fields=["allowed_origins"])


def open_connect_link(url, server, account, *, client=None, approve=True):
    """Play the end user: open the link in a browser with no session, consent at the provider as
    `account`, and return our callback's response (not followed)."""
    client = client or Client()
    opened = client.get(path_of(url))
    assert opened.status_code == 302, opened.content
    assert opened["Location"].startswith(server.authorize_url)
    redirect = server.authorize(
        opened["Location"], account["username"], account["password"], approve
    )
    return client.get(path_of(redirect))


def token_service(tenant, server, **fields):
    """A token service (an API key in a header) on the loopback server's API."""
    return custom_service(
        tenant,
        name="Ticket desk",
        auth_scheme="token",
        base_url=server.base_url + "/api",
        **fields,
    )


CONFIG_SLOTS = [
    {
        "external_id": "channel",
        "title": "Channel",
        "help_text": "Where new deals are posted.",
        "type": "string",
        "required": True,
        "pattern": "#[a-z0-9-]+",
    },
    {"external_id": "limit", "title": "Daily limit", "type": "number", "default": 10},
    {"external_id": "notify", "title": "Notify me", "type": "boolean", "default": False},
    {
        "external_id": "region",
        "title": "Region",
        "type": "select",
        "required": True,
        "choices": ["eu", "us"],
    },
    {
        "external_id": "topics",
        "title": "Topics",
        "type": "multiselect",
        "choices": ["sales", "support"],
    },
    {"external_id": "extra", "title": "Extra filters", "type": "json"},
]


def wizard_solution(tenant, server, *, crm=None, tickets_force_unique=True, config_slots=None):
    """A published solution whose wizard asks for a CRM account (OAuth 2.0 code flow on the
    loopback provider), a ticket desk account (an API key; force unique unless told) and the
    settings of CONFIG_SLOTS. Returns (solution, crm service, ticket service)."""
    crm = crm or browser_service(tenant, server)
    tickets = token_service(tenant, server)
    project = make_project(
        tenant,
        auth_slots=[
            {"external_id": "crm", "title": "Your CRM", "service": crm, "scopes": ["read"]},
            {
                "external_id": "tickets",
                "title": "Ticket desk",
                "service": tickets,
                "force_unique": tickets_force_unique,
            },
        ],
        config_slots=CONFIG_SLOTS if config_slots is None else config_slots,
    )
    owner = tenant.actor(tenant.owner)
    solution = solution_create(actor=owner, project=project, name="CRM sync")
    solution_publish(actor=owner, solution=solution)
    return solution, crm, tickets


def wizard_code(tenant, end_user, *, solution=None, instance=None) -> str:
    """A one-time code for `end_user`, as the customer's backend gets it."""
    _, raw = authorization_code_create(
        actor=tenant.actor(tenant.owner),
        end_user=end_user,
        solution=solution,
        instance=instance,
        purpose=CodePurpose.WIZARD,
    )
    return raw


def token_auth(end_user, service, api_key="key-1", name=""):
    """An end user's API-key auth, as the wizard's form makes it."""
    return authentication_create_token(
        actor=actor_for_end_user(end_user),
        service=service,
        credentials={"api_key": api_key},
        name=name,
    )


def imported_auth(end_user, service, *, scopes=("read",), name=""):
    """An end user's OAuth 2.0 auth of a browser service, made without a browser: tokens imported
    as the customer's backend would (nothing is sent to the provider)."""
    actor = actor_for_end_user(end_user)
    return oauth2_tokens_import(
        actor=actor,
        target=new_connection_target(actor=actor, service=service, name=name),
        tokens=ImportedTokens(
            access_token=f"at-{next(_numbers)}",
            refresh_token=f"rt-{next(_numbers)}",
            expires_in=3600,
            scopes=list(scopes),
        ),
    )
