import secrets

import pytest

from tests.oauth_server.fixture import oauth_server  # noqa: F401


@pytest.fixture
def server(oauth_server, settings):  # noqa: F811
    """The loopback authorization server, reset, with local egress allowed (it is http on
    127.0.0.1)."""
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    oauth_server.reset()
    yield oauth_server
    oauth_server.reset()


@pytest.fixture
def resource_owner(server):
    """An account at the provider."""
    return server.create_user(f"alice-{secrets.token_hex(4)}")
