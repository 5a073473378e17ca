"""Generic service authentication: a token authentication for a service not in the catalog,
defined inline (base URL + how the token is sent). A Service with source="generic" is created with
it (and deleted with it); OAuth and multi-step schemes are refused with a pointer to custom
services (services/custom_services.py)."""

from django.db import transaction

from auths.models import Authentication
from connections.token_auth import authentication_create_token
from services.custom_services import generic_definition_create
from workspaces.access import Actor, asset_workspace, require_asset_creation
from workspaces.models import Workspace


def authentication_create_generic(
    *,
    actor: Actor,
    workspace: Workspace | None = None,
    name: str = "",
    definition: dict,
    credentials: dict,
) -> Authentication:
    workspace = asset_workspace(actor=actor, workspace=workspace)
    require_asset_creation(actor=actor, workspace=workspace)
    with transaction.atomic():
        # One set of rules for definitions: the services app validates this one too (https,
        # hosts, placeholders, token-only).
        service = generic_definition_create(
            actor=actor,
            definition={"name": name or "Generic service", **(definition or {})},
            workspace=workspace,
        )
        return authentication_create_token(
            actor=actor,
            service=service,
            workspace=workspace,
            name=name or service.name,
            credentials=credentials,
        )
