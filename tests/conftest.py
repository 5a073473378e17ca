"""Shared fixtures: an organization with an owner, an admin, a contributor, a viewer, and an outsider
who owns a different organization. API clients log in as any of them."""

import secrets
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory, make_organization
from tests.oauth_server.fixture import oauth_server  # noqa: F401  (session-scoped, started on use)
from workspaces.access import actor_for
from workspaces.members import membership_create
from workspaces.models import Edition, Membership, Organization, OrgRole, User

pytest_plugins = ["tests.url_coverage"]


@dataclass
class Tenant:
    organization: Organization
    owner: User
    admin: User
    contributor: User
    viewer: User

    def membership(self, user) -> Membership:
        return Membership.objects.get(organization=self.organization, user=user)

    def actor(self, user):
        return actor_for(organization=self.organization, user=user)


def build_tenant(edition=Edition.PLATFORM, name=None) -> Tenant:
    owner = UserFactory()
    organization = make_organization(owner=owner, edition=edition, name=name)
    people = {}
    for role in (OrgRole.ADMIN, OrgRole.CONTRIBUTOR, OrgRole.VIEWER):
        # As if each had accepted an invitation (workspaces/invitations.py, tested on its own).
        user = UserFactory(name="")
        membership_create(organization=organization, user=user, role=role)
        people[role] = user
    return Tenant(
        organization=organization,
        owner=owner,
        admin=people[OrgRole.ADMIN],
        contributor=people[OrgRole.CONTRIBUTOR],
        viewer=people[OrgRole.VIEWER],
    )


@pytest.fixture
def tenant(db) -> Tenant:
    return build_tenant(name="Acme")


@pytest.fixture
def embedded_tenant(db) -> Tenant:
    return build_tenant(edition=Edition.EMBEDDED, name="Embedco")


@pytest.fixture
def other_tenant(db) -> Tenant:
    """Another organization: everything in it must stay invisible to `tenant`'s people."""
    return build_tenant(name="Othercorp")


@pytest.fixture
def outsider(other_tenant) -> User:
    return other_tenant.owner


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` logs in with a session."""

    client = APIClient()

    def as_user(user):
        client.force_authenticate(user=None)
        client.logout()
        client.force_login(user)
        return client

    client.as_user = as_user
    return client


@pytest.fixture
def hosts(monkeypatch):
    """Add names to the test resolver's table for one test: hosts({"internal.example": ["10.0.0.1"]})."""
    from tests import resolver

    def add(names: dict[str, list[str]]) -> None:
        for name, addresses in names.items():
            monkeypatch.setitem(resolver.TABLE, name, addresses)

    return add


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
