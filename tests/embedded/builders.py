"""Builders for the embedded tests: projects made as rows (the projects app has its own tests),
end users, their auths made through the real flows, and the organization key that calls."""

import itertools

from django.test import Client
from rest_framework.test import APIClient

from connections.password_grant import authentication_create_password
from projects.models import AuthSlot, ConfigSlot, Project, Workflow
from tests.connections.helpers import oauth2_service, path_of
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
