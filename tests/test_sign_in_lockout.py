"""Brute force on the sign-in page (the admin login, where organization owners and superusers sign
in; config/admin_site.py): after LOGIN_FAILURE_LIMIT failed attempts for one account from one
address, that account is locked for that address for LOGIN_LOCKOUT_MINUTES, with a message that
says so and what to do (django-axes, database handler)."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def sign_in(client, email, password, address="203.0.113.7"):
    return client.post(
        reverse("admin:login"),
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_failed_sign_ins_lock_the_account_out_with_a_clear_message(client, tenant, limit):
    for _ in range(limit - 1):
        refused = sign_in(client, tenant.owner.email, "wrong-password")
        assert refused.status_code == 200  # the form again, with its error
        assert "Please enter the correct" in refused.content.decode()
    locked = sign_in(client, tenant.owner.email, "wrong-password")
    assert locked.status_code == 429
    message = locked.content.decode()
    assert "Too many failed sign-ins" in message and "minutes" in message
    # Locked even with the right password now.
    again = sign_in(client, tenant.owner.email, PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_password_before_the_limit_signs_in(client, tenant, limit):
    for _ in range(limit - 1):
        sign_in(client, tenant.owner.email, "wrong-password")
    signed_in = sign_in(client, tenant.owner.email, PASSWORD)
    assert signed_in.status_code == 302 and signed_in.url == "/admin/"


def test_the_lockout_is_per_account_and_address(client, tenant, limit):
    for _ in range(limit):
        sign_in(client, tenant.owner.email, "wrong-password")
    assert sign_in(client, tenant.owner.email, PASSWORD).status_code == 429
    # Another account from the same address, and the same account from elsewhere, still sign in.
    other = UserFactory(is_superuser=True, is_staff=True)
    assert sign_in(client, other.email, PASSWORD).status_code == 302
    client.logout()
    elsewhere = sign_in(client, tenant.owner.email, PASSWORD, address="198.51.100.9")
    assert elsewhere.status_code == 302


def test_an_unlocked_account_signs_in_again(client, tenant, limit):
    for _ in range(limit):
        sign_in(client, tenant.owner.email, "wrong-password")
    call_command("axes_reset_username", tenant.owner.email)
    assert sign_in(client, tenant.owner.email, PASSWORD).status_code == 302


def test_force_login_is_unaffected(client, tenant, limit):
    for _ in range(limit):
        sign_in(client, tenant.owner.email, "wrong-password")
    client.force_login(tenant.owner)
    assert client.get("/admin/").status_code == 200
