"""The README's embedded walkthrough (docs/examples/embedded_backend.py) works as written: run
against a live server, with an organization on both editions as the demo one is."""

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import build_tenant
from workspaces.api_key_management import organization_api_key_create, user_api_key_create
from workspaces.models import Edition, EndUser

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "embedded_backend.py"


def load_script():
    spec = importlib.util.spec_from_file_location("embedded_backend", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_the_walkthrough_reaches_the_api_with_the_end_users_key(live_server, settings):
    # As the README runs the platform for it: plain-http loopback providers allowed.
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    tenant = build_tenant(edition=Edition.BOTH, name="Demo")
    _, key = organization_api_key_create(actor=tenant.actor(tenant.owner), name="walkthrough")
    _, owner_key = user_api_key_create(user=tenant.owner, name="walkthrough")

    result = load_script().walk(live_server.url, key, owner_key, tenant.organization.slug)

    assert result["status"] == 200
    assert '"contacts": [{"name": "Ada"}]' in result["body"]
    assert "/contacts?region=eu" in result["body"]
    assert not EndUser.objects.filter(organization=tenant.organization).exists()
