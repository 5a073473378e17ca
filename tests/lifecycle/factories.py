"""Services and authentications for the lifecycle tests, made directly as rows (the lifecycle
reads what the authentications module writes; it does not create auths itself)."""

import itertools
from datetime import timedelta

from django.utils import timezone

from auths.models import Authentication
from auths.tokens import TokenResponse
from events.models import Webhook
from lifecycle import early_expiry, state
from services.models import Service
from workspaces.models import Workspace, WorkspaceKind

_numbers = itertools.count(1)


def make_service(**values) -> Service:
    number = next(_numbers)
    defaults = {
        "source": "connector",
        "slug": f"lifecycle-svc-{number}-{timezone.now().timestamp():.0f}",
        "name": f"Lifecycle service {number}",
        "auth_scheme": "oauth2",
        "grant_type": "authorization_code",
        "authorize_url": "https://provider.example/authorize",
        "token_url": "https://provider.example/token",
        "client_id": "client",
        "base_url": "https://api.provider.example",
    }
    defaults.update(values)
    secret = defaults.pop("client_secret", "client-secret")
    service = Service(**defaults)
    service.client_secret = secret
    service.save()
    return service


def organization_workspace(organization) -> Workspace:
    return Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION)


def make_auth(tenant, service=None, *, owner=None, schedule=True, **values) -> Authentication:
    now = timezone.now()
    owner = owner or tenant.contributor
    defaults = {
        "organization": tenant.organization,
        "workspace": organization_workspace(tenant.organization),
        "service": service or make_service(),
        "owner": tenant.membership(owner),
        "name": f"Auth {next(_numbers)}",
        "access_token_expires_at": now + timedelta(hours=1),
        "consented_at": now,
        "refresh_token_issued_at": now,
        "last_refreshed_at": now,
        "scopes": ["read"],
    }
    secrets = {
        "access_token": values.pop("access_token", "access-token"),
        "refresh_token": values.pop("refresh_token", "refresh-token"),
    }
    defaults.update(values)
    authentication = Authentication(**defaults)
    for name, value in secrets.items():
        setattr(authentication, name, value)
    authentication.save()
    if schedule:
        state.schedule(authentication=authentication)
    return authentication


def make_webhook(tenant, url="https://hooks.example/receive", **values) -> Webhook:
    webhook = Webhook(organization=tenant.organization, url=url, **values)
    webhook.signing_secret = "whsec-0123456789abcdef"
    webhook.save()
    return webhook


def token_response(*, refresh_token="new-refresh-token", refresh_token_expires_in=None):
    """A successful token response as auths.tokens parses one."""
    return TokenResponse(
        access_token="new-access-token",
        refresh_token=refresh_token,
        token_type="Bearer",
        expires_in=3600,
        expires_in_defaulted=False,
        scopes=None,
        refresh_token_expires_in=refresh_token_expires_in,
        refresh_token_expires_field="refresh_token_expires_in" if refresh_token_expires_in else "",
        parameters={},
    )


def record_refresh(authentication: Authentication, response: TokenResponse | None = None) -> None:
    """What lifecycle/refresh.py does around a successful token call, without one: the lifecycle
    columns in the row's fenced UPDATE, then the after-commit check of the service's flag."""
    authentication = Authentication.objects.select_related("service", "organization").get(
        pk=authentication.pk
    )
    state.refresh_succeeded(
        authentication=authentication,
        read_version=authentication.version,
        credentials={},
        token_response=response or token_response(),
        rotated=False,
        now=timezone.now(),
    )
    early_expiry.service_flag_clear_if_outlived(authentication=authentication)
