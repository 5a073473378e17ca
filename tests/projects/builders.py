"""Builders for the projects tests: services made through the services domain functions, static
authentications through the token flow, and a definition a project can be written with."""

import itertools

from connections.token_auth import authentication_create_token
from services.custom_services import custom_service_create
from tests.services.builders import oauth2_definition, token_definition
from workspaces.models import Workspace, WorkspaceKind

_numbers = itertools.count(1)


def workspace_of(tenant, kind=WorkspaceKind.ORGANIZATION) -> Workspace:
    return Workspace.objects.get(organization=tenant.organization, kind=kind)


def crm_service(tenant):
    """An OAuth 2.0 custom service of the owner offering contacts.read and contacts.write, with
    a public `subdomain` parameter; its default workspace follows the edition's rules."""
    return custom_service_create(
        actor=tenant.actor(tenant.owner),
        definition=oauth2_definition(name=f"Acme CRM {next(_numbers)}"),
        client_secret="s3cret-client-value",
    )


def token_service(tenant):
    """A token service (no scopes): the API key goes in the X-Api-Key header."""
    return custom_service_create(
        actor=tenant.actor(tenant.owner),
        definition=token_definition(name=f"Weather {next(_numbers)}"),
    )


def shared_auth(tenant, service, name="Team weather key"):
    """An authentication of the organization workspace, made through the token flow."""
    return authentication_create_token(
        actor=tenant.actor(tenant.owner),
        service=service,
        workspace=workspace_of(tenant),
        name=name,
        credentials={"api_key": "weather-key-0123456789"},
    )


def definition(service, **parts) -> dict:
    """A CRM auth slot, a "region" select config slot and a workflow reading contacts by region;
    any part can be replaced."""
    value = {
        "auth_slots": [
            {
                "external_id": "crm",
                "title": "Your CRM",
                "service": str(service.pk),
                "scopes": ["contacts.read"],
            }
        ],
        "config_slots": [
            {
                "external_id": "region",
                "title": "Region",
                "type": "select",
                "choices": ["eu", "us"],
                "required": True,
                "default": "eu",
            }
        ],
        "workflows": [
            {
                "name": "Read contacts",
                "steps": [
                    {
                        "name": "List contacts",
                        "auth_slot": "crm",
                        "request": {
                            "method": "GET",
                            "path": "/contacts",
                            "query": {"region": "{{config.region}}"},
                        },
                    }
                ],
            }
        ],
    }
    value.update(parts)
    return value
