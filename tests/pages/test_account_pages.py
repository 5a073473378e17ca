"""The member pages through Django's test client: sign-in and out, passwords, invitations, API
keys, the time zone. What each page says is checked in tests/browser/test_member_pages.py too,
in Chromium; here are the rules (redirects, status codes, what is stored)."""

import re
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pages.navigation import nav_items, nav_links
from tests.workspaces.test_invitations import STRONG, invite, token_from
from workspaces.models import Invitation, Membership, UserAPIKey

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


def text_of(response) -> str:
    """The page's words, without markup or extra whitespace."""
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(
        reverse("account:sign-in"), {"username": email, "password": password, **extra}
    )


# --- signing in and out ------------------------------------------------------------------------


def test_the_site_address_leads_an_anonymous_visitor_to_the_sign_in(client):
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == "/account/sign-in/?next=/account/"
    assert "Sign in" in text_of(home)


def test_a_member_signs_in_and_lands_on_their_home(client, tenant, other_tenant):
    response = sign_in(client, tenant.contributor.email)
    assert response.status_code == 302 and response["Location"] == reverse("account:home")
    home = text_of(client.get(reverse("account:home")))
    assert "Acme" in home and "Contributor" in home and "Othercorp" not in home


def test_sign_in_follows_a_safe_next_and_ignores_another_host(client, tenant):
    response = sign_in(client, tenant.viewer.email, next="/account/api-keys/")
    assert response["Location"] == "/account/api-keys/"
    client.logout()
    response = sign_in(client, tenant.viewer.email, next="https://evil.example/")
    assert response["Location"] == reverse("account:home")


def test_a_wrong_password_is_an_error_on_the_form(client, tenant):
    response = sign_in(client, tenant.viewer.email, "wrong")
    assert response.status_code == 200
    assert "The email address or the password is wrong" in text_of(response)
    assert "_auth_user_id" not in client.session


def test_the_member_sign_in_is_locked_after_too_many_failures(client, tenant, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert sign_in(client, tenant.viewer.email, "wrong").status_code == 200
    locked = sign_in(client, tenant.viewer.email, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in text_of(locked)
    assert sign_in(client, tenant.viewer.email).status_code == 429  # the right password too


def test_every_form_needs_its_csrf_token(tenant):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, tenant.viewer.email).status_code == 403
    client.force_login(tenant.viewer)
    assert client.post(reverse("account:api-key-create"), {"name": "x"}).status_code == 403
    assert client.post(reverse("account:sign-out")).status_code == 403


def test_signing_out_takes_a_post(client, tenant):
    client.force_login(tenant.viewer)
    assert client.get(reverse("account:sign-out")).status_code == 405
    response = client.post(reverse("account:sign-out"), follow=True)
    assert "You are signed out." in text_of(response)
    assert "_auth_user_id" not in client.session


def test_pages_of_an_account_need_a_signed_in_person(client):
    for name in ("account:home", "account:api-keys", "account:password-change"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account:sign-in"))


# --- passwords -----------------------------------------------------------------------------------


def test_password_reset_by_email(client, tenant, mailoutbox):
    sent = client.post(reverse("account:password-reset"), {"email": tenant.viewer.email})
    assert sent["Location"] == reverse("account:password-reset-sent")
    link = re.search(r"http://testserver(/account/password-reset/\S+/)", mailoutbox[0].body)[1]
    form = client.get(link, follow=True)
    assert "Choose a new password" in text_of(form)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": STRONG, "new_password2": STRONG},
        follow=True,
    )
    assert "Your password is changed" in text_of(done)
    assert sign_in(client, tenant.viewer.email, STRONG)["Location"] == reverse("account:home")
    used = client.get(link, follow=True)
    assert "cannot be used" in text_of(used)


def test_password_reset_says_the_same_for_an_unknown_address(client, mailoutbox):
    sent = client.post(reverse("account:password-reset"), {"email": "nobody@example.com"})
    assert sent["Location"] == reverse("account:password-reset-sent")
    assert mailoutbox == []


def test_password_change(client, tenant):
    client.force_login(tenant.viewer)
    response = client.post(
        reverse("account:password-change"),
        {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG},
        follow=True,
    )
    assert "Your password is changed." in text_of(response)
    tenant.viewer.refresh_from_db()
    assert tenant.viewer.check_password(STRONG)


def test_the_admin_login_sends_members_to_their_sign_in(client, tenant):
    response = client.post(
        reverse("admin:login"), {"username": tenant.viewer.email, "password": PASSWORD}
    )
    assert "Members sign in on the member sign-in page" in text_of(response)


# --- invitations ---------------------------------------------------------------------------------


def invitation_url(mailoutbox, index=0):
    return reverse("account:invitation", kwargs={"token": token_from(mailoutbox[index])})


def test_a_new_person_chooses_a_password_and_is_signed_in(client, tenant, mailoutbox):
    invite(tenant, name="Ada")
    url = invitation_url(mailoutbox)
    page = client.get(url)
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    assert "Join Acme" in text_of(page) and "ada@example.com" in text_of(page)
    mismatch = client.post(
        url, {"name": "Ada", "password": STRONG, "password_confirm": STRONG + "!"}
    )
    assert "The two passwords differ" in text_of(mismatch)
    weak = client.post(url, {"name": "Ada", "password": "password", "password_confirm": "password"})
    assert "This password is too common." in text_of(weak)
    joined = client.post(
        url, {"name": "Ada", "password": STRONG, "password_confirm": STRONG}, follow=True
    )
    assert joined.redirect_chain[-1][0] == reverse("account:home")
    assert "Welcome to Acme" in text_of(joined)
    assert Membership.objects.get(user__email="ada@example.com").organization == tenant.organization


def test_someone_with_an_account_is_asked_to_sign_in_then_accepts(
    client, tenant, other_tenant, mailoutbox
):
    person = other_tenant.viewer
    invite(tenant, email=person.email)
    url = invitation_url(mailoutbox)
    page = client.get(url)
    assert "Sign in to accept" in text_of(page)
    assert sign_in(client, person.email, next=url)["Location"] == url
    accept = client.get(url)
    assert "Join Acme" in text_of(accept)
    joined = client.post(url, follow=True)
    assert "You joined Acme." in text_of(joined)
    assert Membership.objects.filter(organization=tenant.organization, user=person).exists()


def test_signed_in_as_someone_else_the_page_says_so(client, tenant, mailoutbox):
    invite(tenant)
    client.force_login(tenant.viewer)
    url = invitation_url(mailoutbox)
    page = text_of(client.get(url))
    assert "This invitation is for ada@example.com" in page
    assert f"you are signed in as {tenant.viewer.email}" in page
    client.post(url)  # accepting as someone else does nothing
    assert Invitation.objects.get().accepted_at is None


def test_unusable_links_get_one_page_whatever_the_reason(client, tenant, mailoutbox):
    invite(tenant, email="used@example.com")
    used = invitation_url(mailoutbox, 0)
    client.post(used, {"password": STRONG, "password_confirm": STRONG})
    client.logout()
    invitation = invite(tenant, email="late@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    expired = invitation_url(mailoutbox, 1)
    unknown = reverse("account:invitation", kwargs={"token": "no-such-token"})
    pages = [client.get(url) for url in (used, expired, unknown)]
    assert {page.status_code for page in pages} == {404}
    assert len({text_of(page) for page in pages}) == 1
    assert "works once, for 7 days" in text_of(pages[0])
    assert "Acme" not in text_of(pages[0])


# --- API keys -------------------------------------------------------------------------------------


def test_a_new_api_key_is_shown_once_and_never_listed(client, tenant):
    client.force_login(tenant.contributor)
    created = client.post(reverse("account:api-key-create"), {"name": "laptop"})
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    key = re.search(r'value="([^"]+)" readonly', created.content.decode())[1]
    key_obj = UserAPIKey.objects.get(user=tenant.contributor)
    assert key.startswith(key_obj.prefix) and UserAPIKey.objects.is_valid(key)
    listing = client.get(reverse("account:api-keys"))
    assert "laptop" in text_of(listing) and key_obj.prefix in text_of(listing)
    assert key not in listing.content.decode()
    assert key not in str(dict(client.session))


def test_a_key_name_is_required(client, tenant):
    client.force_login(tenant.contributor)
    response = client.post(reverse("account:api-key-create"), {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in text_of(response)
    assert not UserAPIKey.objects.exists()


def test_revoking_a_key_and_only_ones_own(client, tenant):
    mine, _ = UserAPIKey.objects.create_key(name="cli", user=tenant.contributor)
    theirs, _ = UserAPIKey.objects.create_key(name="theirs", user=tenant.viewer)
    client.force_login(tenant.contributor)
    other = client.post(reverse("account:api-key-revoke", kwargs={"prefix": theirs.prefix}))
    assert other.status_code == 404
    done = client.post(
        reverse("account:api-key-revoke", kwargs={"prefix": mine.prefix}), follow=True
    )
    assert "is revoked" in text_of(done) and "Revoked" in text_of(done)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked and not theirs.revoked


# --- layout helpers ------------------------------------------------------------------------------


def test_the_time_zone_chosen_is_kept_and_named(client, tenant):
    client.force_login(tenant.viewer)
    response = client.post(
        reverse("account:time-zone"), {"time_zone": "Europe/Paris", "next": "/account/"}
    )
    assert response["Location"] == "/account/"
    assert response.cookies["time_zone"].value == "Europe/Paris"
    assert "(Europe/Paris)" in text_of(client.get(reverse("account:home")))
    refused = client.post(
        reverse("account:time-zone"), {"time_zone": "Mars/Olympus", "next": "//evil.example/"}
    )
    assert refused["Location"] == reverse("account:home")
    assert "time_zone" not in refused.cookies


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "2026-03-01 14:05 UTC"),
        ("Europe/Paris", "2026-03-01 15:05 CET (Europe/Paris)"),
        ("America/Sao_Paulo", "2026-03-01 11:05 America/Sao_Paulo"),
    ],
)
def test_local_time_names_the_zone(zone, shown):
    moment = datetime(2026, 3, 1, 14, 5, tzinfo=UTC)
    with timezone.override(zone):
        html = Template("{% load page_tags %}{{ moment|local_time }}").render(
            Context({"moment": moment})
        )
    assert html == f'<time datetime="2026-03-01T14:05:00+00:00">{shown}</time>'


def test_a_status_badge_says_its_status_in_words():
    html = Template("{% load page_tags %}{% status_badge 'needs_reauth' %}").render(Context())
    assert "Needs re-authentication" in html and "badge--bad" in html


def test_every_navigation_entry_resolves_and_the_current_one_is_marked():
    labels = [item.label for item in nav_items()]
    assert labels[0] == "Home" and "API keys" in labels
    links = nav_links("/account/api-keys/")
    assert len(links) == len(nav_items())
    assert [link.label for link in links if link.current] == ["API keys"]
