"""Management commands go through the same domain functions as the API and the admin."""

import pytest
from django.core.management import CommandError, call_command

from workspaces.models import Organization, Workspace, WorkspaceKind

pytestmark = pytest.mark.django_db


def test_create_organization_command_builds_the_workspaces(tenant):
    call_command("create_organization", "Newco", owner_email=tenant.viewer.email, edition="both")
    organization = Organization.objects.get(slug="newco")
    kinds = sorted(
        Workspace.objects.filter(organization=organization).values_list("kind", flat=True)
    )
    assert kinds == [WorkspaceKind.EMBEDDED, WorkspaceKind.ORGANIZATION, WorkspaceKind.PERSONAL]


def test_create_organization_command_refuses_a_taken_slug_naming_the_field(tenant):
    with pytest.raises(CommandError, match="slug: The slug 'acme' is taken"):
        call_command("create_organization", "Acme", owner_email=tenant.viewer.email)


def test_create_organization_command_refuses_an_unknown_owner(db):
    with pytest.raises(CommandError, match="--owner-email"):
        call_command("create_organization", "X", owner_email="nobody@example.com")
