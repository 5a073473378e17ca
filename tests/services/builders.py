"""Service-definition builders for the services tests (also used by the isolation matrix)."""

from services.custom_services import custom_service_create


def oauth2_definition(**overrides) -> dict:
    definition = {
        "name": "Acme CRM",
        "auth_scheme": "oauth2",
        "grant_type": "authorization_code",
        "authorize_url": "https://{{subdomain}}.acme-crm.example/oauth/authorize",
        "token_url": "https://{{subdomain}}.acme-crm.example/oauth/token",
        "scopes_available": ["contacts.read", "contacts.write"],
        "scopes_default": ["contacts.read"],
        "client_id": "acme-client-id",
        "base_url": "https://{{subdomain}}.acme-crm.example/api/v2",
        "parameters": [
            {"name": "subdomain", "title": "Acme subdomain", "required": True},
        ],
    }
    definition.update(overrides)
    return definition


def token_definition(**overrides) -> dict:
    definition = {
        "name": "Weather API",
        "auth_scheme": "token",
        "base_url": "https://api.weather.example/v1",
        "credential_placement": "header",
        "credential_header_name": "X-Api-Key",
        "credential_prefix": "",
    }
    definition.update(overrides)
    return definition


def make_custom_service(tenant, user=None, *, secret="s3cret-client-value", **overrides):
    """A custom service created the only way they are created: through the domain function."""
    user = user or tenant.contributor
    return custom_service_create(
        actor=tenant.actor(user), definition=oauth2_definition(**overrides), client_secret=secret
    )
