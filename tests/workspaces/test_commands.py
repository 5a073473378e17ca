"""Management commands go through the same domain functions as the API and the admin."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from workspaces.models import Membership, Organization, OrgRole, User, Workspace, WorkspaceKind

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


# --- the owner: created when missing, and told how to sign in ------------------------------------


def owner_of(slug: str) -> User:
    return Membership.objects.get(organization__slug=slug, role=OrgRole.OWNER).user


def create(*args, **options) -> str:
    out = StringIO()
    call_command("create_organization", *args, stdout=out, **options)
    return out.getvalue()


def test_create_organization_creates_a_missing_owner_and_prints_the_sign_in_once(db, settings):
    settings.WEB_BIND = "0.0.0.0:8123"
    settings.SITE_URL = ""
    output = create("Newco", owner_email="founder@newco.example")
    owner = User.objects.get(email="founder@newco.example")
    assert owner_of("newco") == owner
    assert "Sign in at http://127.0.0.1:8123/admin/ as founder@newco.example" in output
    password = re.search(r"with the password (\S+) ", output).group(1)
    assert owner.check_password(password)
    assert "shown once" in output
    # The sign-in works: the admin lets an organization owner in.
    client = Client()
    signed_in = client.post(
        reverse("admin:login"), {"username": owner.email, "password": password, "next": "/admin/"}
    )
    assert signed_in.status_code == 302 and signed_in.url == "/admin/"


def test_the_sign_in_address_is_the_site_url_when_set(db, settings):
    settings.SITE_URL = "https://platform.example.com/"
    output = create("Newco", owner_email="founder@newco.example")
    assert "Sign in at https://platform.example.com/admin/ as founder@newco.example" in output


def test_an_existing_owner_keeps_their_password(tenant, settings):
    settings.WEB_BIND = "127.0.0.1:8000"
    settings.SITE_URL = ""
    before = User.objects.get(pk=tenant.viewer.pk).password
    output = create("Newco", owner_email=tenant.viewer.email.upper())
    assert User.objects.get(pk=tenant.viewer.pk).password == before
    assert owner_of("newco") == tenant.viewer
    assert (
        f"{tenant.viewer.email} signs in at http://127.0.0.1:8000/admin/ with their existing "
        "password" in output
    )
    assert "with the password" not in output


def test_an_invalid_owner_email_is_refused_naming_the_option(db):
    with pytest.raises(CommandError, match="--owner-email: Enter a valid email address"):
        create("X", owner_email="not-an-email")
    assert not User.objects.exists() and not Organization.objects.exists()


def test_a_refused_organization_leaves_no_new_user_behind(tenant):
    with pytest.raises(CommandError, match="slug: The slug 'acme' is taken"):
        create("Acme", owner_email="someone-new@example.com")
    assert not User.objects.filter(email="someone-new@example.com").exists()


# --- organization API keys -----------------------------------------------------------------------


def test_create_api_key_prints_only_a_key_that_calls_as_the_organization(tenant):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", tenant.organization.slug, name="backend", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert "\n" not in key and "organization API key" in err.getvalue()
    response = Client().get(
        reverse("member-list", kwargs={"organization_slug": tenant.organization.slug}),
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert response.status_code == 200


def test_create_api_key_names_an_unknown_organization():
    with pytest.raises(CommandError, match="no organization has the slug 'nope'"):
        call_command("create_api_key", "nope")


def test_create_api_key_for_a_member_acts_as_them(tenant):
    out = StringIO()
    call_command("create_api_key", tenant.organization.slug, member=tenant.owner.email, stdout=out)
    response = Client().get(
        reverse("user-api-key-list"), HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip()}"
    )
    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_create_api_key_refuses_someone_who_is_no_member(tenant, other_tenant):
    with pytest.raises(CommandError, match="is no active member"):
        call_command("create_api_key", tenant.organization.slug, member=other_tenant.owner.email)
