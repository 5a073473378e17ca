"""API keys for machines, stored hashed (djangorestframework-api-key): per-user keys act as their
person; per-organization keys act inside one organization (an embedded customer's backend).

Sent as `Authorization: Api-Key <key>`.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from workspaces.models import OrganizationAPIKey, UserAPIKey

KEYWORD = "Api-Key"


def _usable_key(model, raw_key: str, *related: str):
    """The key (with `related` loaded in the same query), or None when it is unknown, revoked,
    wrong or expired. The library's get_from_key, plus the join: a user key and its user are
    one query per request, not two."""
    prefix, _, _ = raw_key.partition(".")
    key = model.objects.get_usable_keys().select_related(*related).filter(prefix=prefix).first()
    if key is None or not key.is_valid(raw_key) or key.has_expired:
        return None
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{KEYWORD} "):
            return None
        raw_key = header[len(KEYWORD) + 1 :].strip()
        user_key = _usable_key(UserAPIKey, raw_key, "user")
        if user_key is not None:
            if not user_key.user.is_active:
                raise exceptions.AuthenticationFailed("This API key's user is deactivated.")
            return (user_key.user, user_key)
        org_key = _usable_key(OrganizationAPIKey, raw_key)
        if org_key is not None:
            return (AnonymousUser(), org_key)
        raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")

    def authenticate_header(self, request):
        return KEYWORD


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the API-key header in the OpenAPI schema."""

    target_class = "workspaces.api_keys.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a user key or an organization key.",
        }
