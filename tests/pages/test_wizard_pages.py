"""The end-user pages through Django's test client: getting in with a code (the cookie probe, the
session cookie's attributes), framing headers, CSRF, every screen posted without JavaScript (the
redirect flow to the provider included), the refusals, the dialog, the branding. What a person
sees and the postMessage contract in a real browser: tests/browser/test_wizard.py and
test_auth_dialog.py."""

import html
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from auths.models import Authentication
from embedded import wizard
from embedded.end_user_events import reauthentication_url
from embedded.instances import instance_create
from embedded.models import AuthorizationCode, SolutionInstance
from infrastructure.errors import Conflict
from tests.conftest import build_tenant
from tests.connections.helpers import path_of
from tests.embedded.builders import (
    allow_origins,
    imported_auth,
    make_end_user,
    token_auth,
    wizard_code,
    wizard_solution,
)
from workspaces.models import Edition

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def posted_message(response):
    found = re.search(r'data-post-message="([^"]*)"', response.content.decode())
    value = html.unescape(found.group(1)) if found else ""
    return json.loads(value) if value else None


def target_origins(response):
    found = re.search(r'data-target-origins="([^"]*)"', response.content.decode())
    return json.loads(html.unescape(found.group(1)))


def csrf_of(response) -> str:
    return re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()
    ).group(1)


def wizard_path(tenant, solution):
    return reverse(
        "embedded-wizard-solution",
        kwargs={"organization_slug": tenant.organization.slug, "solution_id": solution.pk},
    )


def open_page(client, path, code, **query):
    """What a browser does with the address the backend handed out: the probe, then the code."""
    probe = client.get(path, {"code": code, **query})
    assert probe.status_code == 302, probe.content
    assert "probe=1" in probe["Location"]
    return client.get(probe["Location"])


@pytest.fixture
def world(embedded_tenant, server):
    allow_origins(embedded_tenant, APP, "http://localhost:3000")
    solution, crm, tickets = wizard_solution(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant, "customer-1")
    return embedded_tenant, solution, crm, tickets, end_user


@pytest.fixture
def opened(world):
    """A browser in the wizard of a new instance, on its first screen."""
    tenant, solution, _, _, end_user = world
    client = Client()
    path = wizard_path(tenant, solution)
    entered = open_page(client, path, wizard_code(tenant, end_user, solution=solution))
    assert entered.status_code == 303 and entered["Location"] == path
    return client, path


# --- framing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/sign-in/", "/api/organizations/", "/health/"])
def test_every_other_page_refuses_to_be_framed(client, path):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_wizard_may_be_framed_by_the_allowed_origins_only(world, opened):
    client, path = opened
    response = client.get(path)

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["frame-ancestors"] == f"'self' {APP} http://localhost:3000"
    assert policy["script-src"] == "'self'"  # no inline script anywhere
    assert policy["default-src"] == "'none'"
    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"
    # Not no-referrer: the browser would then post the forms with Origin: null (CSRF refuses).
    assert response["Referrer-Policy"] == "same-origin"
    # The messages go to exactly these origins, never "*".
    assert target_origins(response) == [APP, "http://localhost:3000"]


# --- getting in ------------------------------------------------------------------------------------


def test_the_code_becomes_a_session_cookie_of_this_page_only(world):
    tenant, solution, _, _, end_user = world
    client = Client()
    path = wizard_path(tenant, solution)
    code = wizard_code(tenant, end_user, solution=solution)

    probe = client.get(path, {"code": code})
    assert AuthorizationCode.objects.get().used_at is None  # not used before the probe is back
    assert probe.cookies["embedded_wizard_probe"]["path"] == path
    entered = client.get(probe["Location"])

    cookie = entered.cookies["embedded_wizard"]
    assert entered.status_code == 303 and entered["Location"] == path  # the code leaves the URL
    assert cookie["httponly"] and cookie["path"] == path
    assert cookie["samesite"] == "Lax" and not cookie["secure"]  # plain http
    assert cookie["max-age"] == 1800
    assert AuthorizationCode.objects.get().used_at is not None
    assert "Your CRM" in text_of(client.get(path))


def test_over_https_the_cookies_work_in_a_third_party_frame(world):
    tenant, solution, _, _, end_user = world
    client = Client()
    path = wizard_path(tenant, solution)
    probe = client.get(
        path, {"code": wizard_code(tenant, end_user, solution=solution)}, secure=True
    )
    entered = client.get(path_of(probe["Location"]), secure=True)

    cookie = entered.cookies["__Secure-embedded_wizard"]
    assert cookie["samesite"] == "None" and cookie["secure"] and cookie["httponly"]
    page = client.get(path, secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["samesite"] == "None" and csrf["secure"]
    # The member pages keep the site-wide Lax CSRF cookie.
    sign_in = Client().get(reverse("account:sign-in"), secure=True)
    assert sign_in.cookies["csrftoken"]["samesite"] == "Lax"


def test_the_same_address_loaded_again_goes_on_and_another_code_starts_afresh(world, server):
    tenant, solution, crm, _, end_user = world
    path = wizard_path(tenant, solution)
    code = wizard_code(tenant, end_user, solution=solution)
    client = Client()
    open_page(client, path, code)
    mine = imported_auth(end_user, crm, name="Pat's CRM")

    # The customer's page re-renders its frame: the address with the used code.
    again = client.get(path, {"code": code})
    assert again.status_code == 302 and again["Location"] == path
    assert "Pat's CRM" in text_of(client.get(path))

    # Another end user signs in to the customer's app in the same browser.
    someone = make_end_user(tenant, "customer-2")
    theirs = open_page(client, path, wizard_code(tenant, someone, solution=solution))
    assert theirs.status_code == 303
    page = text_of(client.get(path))
    assert "Pat's CRM" not in page and str(mine.pk) not in page


def test_without_the_probe_cookie_the_code_waits_for_a_window_of_its_own(world):
    tenant, solution, _, _, end_user = world
    path = wizard_path(tenant, solution)
    code = wizard_code(tenant, end_user, solution=solution)

    framed = Client().get(path, {"code": code, "probe": "1"})  # the cookie never came back

    assert framed.status_code == 200
    assert "Continue in a new window" in text_of(framed)
    assert AuthorizationCode.objects.get().used_at is None
    popup = Client()
    assert open_page(popup, path, code).status_code == 303  # the same code, in the popup


def test_a_used_code_is_refused_with_a_page_that_says_why(world, opened):
    tenant, solution, _, _, end_user = world
    code = wizard_code(tenant, end_user, solution=solution)
    path = wizard_path(tenant, solution)
    open_page(Client(), path, code)

    again = open_page(Client(), path, code)

    assert again.status_code == 403
    assert "This link cannot be used" in text_of(again)
    assert "codes work once, for 10 minutes" in text_of(again)
    assert posted_message(again)["type"] == "wizard.error"
    assert "frame-ancestors 'self' https://app.example.com" in again["Content-Security-Policy"]


def test_another_organizations_code_is_refused_with_a_page_that_says_why(world, server):
    tenant, solution, _, _, _ = world
    other = build_tenant(edition=Edition.EMBEDDED, name="Othercorp")
    other_solution, _, _ = wizard_solution(other, server)
    code = wizard_code(other, make_end_user(other), solution=other_solution)

    refused = open_page(Client(), wizard_path(tenant, solution), code)

    assert refused.status_code == 403
    assert "This link is for another organization" in text_of(refused)


def test_without_a_session_the_page_says_it_expired(world):
    tenant, solution, _, _, _ = world
    response = Client().get(wizard_path(tenant, solution))
    assert response.status_code == 403
    assert "This page has expired" in text_of(response)


def test_an_unknown_or_platform_organization_has_no_pages(world, tenant):
    _, solution, _, _, _ = world
    for slug in ("nobody", tenant.organization.slug):
        path = reverse(
            "embedded-wizard-solution",
            kwargs={"organization_slug": slug, "solution_id": solution.pk},
        )
        response = Client().get(path, {"code": "x"})
        assert response.status_code == 404
        assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_the_forms_need_their_csrf_token(world):
    tenant, solution, _, _, end_user = world
    client = Client(enforce_csrf_checks=True)
    path = wizard_path(tenant, solution)
    open_page(client, path, wizard_code(tenant, end_user, solution=solution))

    refused = client.post(path, {"action": "next", "step": "0"})
    page = client.get(path)
    accepted = client.post(path, {"action": "cancel", "csrfmiddlewaretoken": csrf_of(page)})

    assert refused.status_code == 403
    assert accepted.status_code == 200 and posted_message(accepted) == {"type": "wizard.close"}


# --- the screens, without JavaScript ---------------------------------------------------------------


def test_an_end_user_completes_the_wizard_without_javascript(world, opened, server):
    tenant, solution, crm, _, end_user = world
    client, path = opened
    mine = imported_auth(end_user, crm, name="Work CRM")

    first = client.get(path)
    assert "Work CRM" in text_of(first) and "Active" in text_of(first)
    nothing_picked = client.post(path, {"action": "next", "step": "0"})
    assert nothing_picked.status_code == 400
    assert "Choose a Test API account for 'Your CRM'" in text_of(nothing_picked)
    picked = client.post(path, {"action": "next", "step": "0", "auth-crm": str(mine.pk)})
    assert picked.status_code == 303 and picked["Location"] == f"{path}?step=1"

    # The ticket desk (force unique): the form asks for the API key only.
    desk_screen = client.get(f"{path}?step=1")
    assert "API key or token" in text_of(desk_screen)
    assert "connect-tickets-username" not in desk_screen.content.decode()
    missing = client.post(path, {"action": "connect:tickets", "step": "1"})
    assert missing.status_code == 400 and "takes an API key" in text_of(missing)
    connected = client.post(
        path, {"action": "connect:tickets", "step": "1", "connect-tickets-api_key": "k-123"}
    )
    assert connected.status_code == 303 and connected["Location"] == f"{path}?step=1"
    desk = Authentication.objects.get(end_user=end_user, service__name="Ticket desk")
    assert f'value="{desk.pk}" checked' in client.get(f"{path}?step=1").content.decode()
    client.post(path, {"action": "next", "step": "1", "auth-tickets": str(desk.pk)})

    settings = {
        "action": "next",
        "step": "2",
        "config-channel": "",
        "config-limit": "ten",
        "config-region": "eu",
        "config-extra": "{not json",
    }
    refused = client.post(path, settings)
    assert refused.status_code == 400
    page = text_of(refused)
    assert "'Channel' is required" in page
    assert "'Daily limit' is a number" in page
    assert "'Extra filters' is not valid JSON" in page
    saved = client.post(
        path,
        {
            **settings,
            "config-channel": "#deals",
            "config-limit": "5",
            "config-notify": "on",
            "config-topics": ["sales", "support"],
            "config-extra": '{"stage": "won"}',
        },
    )
    assert saved.status_code == 303 and saved["Location"] == f"{path}?step=3"

    review = client.get(f"{path}?step=3")
    assert "Review and finish" in text_of(review)
    assert "#deals" in text_of(review) and "sales, support" in text_of(review)
    done = client.post(path, {"action": "finish"})

    instance = SolutionInstance.objects.get(end_user=end_user)
    assert done.status_code == 200 and "All set" in text_of(done)
    assert posted_message(done) == {"type": "instance.configured", "instance_id": str(instance.pk)}
    assert not instance.enabled
    assert instance.config_values == {
        "channel": "#deals",
        "limit": 5,
        "notify": True,
        "region": "eu",
        "topics": ["sales", "support"],
        "extra": {"stage": "won"},
    }
    # Finished: the page keeps saying so, and nothing more can be posted.
    assert posted_message(client.get(path))["type"] == "instance.configured"


def test_a_finish_the_screens_cannot_fix_tells_the_embedding_page(world, opened, monkeypatch):
    client, path = opened

    def changed_meanwhile(**kwargs):
        raise Conflict("CRM sync changed while you were setting it up; open it again.")

    monkeypatch.setattr(wizard, "wizard_save", changed_meanwhile)
    refused = client.post(path, {"action": "finish"})

    assert refused.status_code == 409
    assert "changed while you were setting it up" in text_of(refused)
    assert posted_message(refused) == {
        "type": "wizard.error",
        "message": "CRM sync changed while you were setting it up; open it again.",
    }


def test_a_made_up_slot_is_a_page_not_an_error(world, opened):
    client, path = opened
    response = client.post(path, {"action": "connect:nope", "step": "0"})
    assert response.status_code == 400
    assert "There is no account to connect for 'nope' here" in text_of(response)


def test_the_provider_consent_in_the_window_itself_comes_back_to_the_screen(world, opened, server):
    tenant, _, _, _, end_user = world
    client, path = opened
    account = server.create_user("eu-redirect")

    start = client.post(path, {"action": "connect:crm", "step": "0", "mode": "redirect"})
    assert start.status_code == 302 and start["Location"].startswith(server.authorize_url)
    back = client.get(
        path_of(server.authorize(start["Location"], account["username"], account["password"]))
    )
    assert back.status_code == 302
    assert back["Location"].startswith(f"http://testserver{path}?step=0&status=connected")

    screen = client.get(path_of(back["Location"]))
    auth = Authentication.objects.get(end_user=end_user, service__name="Test API")
    assert f'value="{auth.pk}" checked' in screen.content.decode()


def test_the_popup_gets_the_authorize_url_and_ends_on_the_platforms_page(world, opened, server):
    client, path = opened
    answer = client.post(path, {"action": "connect:crm", "step": "0", "mode": "popup"})
    assert answer.status_code == 200
    authorize_url = answer.json()["authorize_url"]
    assert authorize_url.startswith(server.authorize_url)

    account = server.create_user("eu-popup-page")
    back = Client().get(
        path_of(server.authorize(authorize_url, account["username"], account["password"]))
    )
    finished = Client().get(path_of(back["Location"]))

    assert back["Location"].startswith(
        "http://testserver/embedded/oauth-finished/?status=connected"
    )
    assert "Connected" in text_of(finished)
    assert "data-notify-opener" in finished.content.decode()
    assert posted_message(finished) is None  # it tells only the page that opened it


def test_the_wizard_edits_an_existing_instance(world, server):
    tenant, solution, crm, tickets, end_user = world
    crm_auth, desk = imported_auth(end_user, crm), token_auth(end_user, tickets)
    instance = instance_create(
        actor=tenant.actor(tenant.owner),
        solution=solution,
        end_user=end_user,
        config_values={"channel": "#old", "region": "us"},
        auth_values=[
            {"external_id": "crm", "authentication_id": str(crm_auth.pk)},
            {"external_id": "tickets", "authentication_id": str(desk.pk)},
        ],
    )
    client = Client()
    path = reverse(
        "embedded-wizard-instance",
        kwargs={"organization_slug": tenant.organization.slug, "instance_id": instance.pk},
    )
    open_page(client, path, wizard_code(tenant, end_user, instance=instance))

    settings = client.get(f"{path}?step=2")
    assert 'value="#old"' in settings.content.decode()
    client.post(
        path, {"action": "next", "step": "2", "config-channel": "#new", "config-region": "us"}
    )
    client.post(path, {"action": "finish"})

    instance.refresh_from_db()
    assert instance.config_values["channel"] == "#new"


# --- the auth-only dialog --------------------------------------------------------------------------


def test_the_dialog_renews_an_auth_and_says_auth_finish(world):
    tenant, _, _, tickets, end_user = world
    desk = token_auth(end_user, tickets, api_key="old")
    client = Client()
    path = reverse(
        "embedded-auth-dialog",
        kwargs={"organization_slug": tenant.organization.slug, "target": str(tickets.pk)},
    )
    entered = open_page(client, path, wizard_code(tenant, end_user), authentication=str(desk.pk))
    assert entered.status_code == 303

    page = client.get(path)
    assert "Renew your Ticket desk connection" in text_of(page)
    sent = client.post(path, {"action": "connect", "connect-dialog-api_key": "new"})
    done = client.get(sent["Location"])

    assert posted_message(done) == {"type": "auth.finish", "authentication_id": str(desk.pk)}
    assert Authentication.objects.get(pk=desk.pk).api_key.reveal() == "new"


def test_the_webhooks_reauthentication_path_opens_the_dialog(world):
    tenant, _, _, tickets, end_user = world
    desk = token_auth(end_user, tickets)
    client = Client()
    path = reauthentication_url(desk)  # what the webhook says, the backend adds &code=
    probe = client.get(f"{path}&code={wizard_code(tenant, end_user)}")
    entered = client.get(probe["Location"])
    assert entered.status_code == 303
    assert "Renew your Ticket desk connection" in text_of(client.get(entered["Location"]))


def test_the_dialog_cancelled_says_auth_close(world):
    tenant, _, _, tickets, end_user = world
    client = Client()
    path = reverse(
        "embedded-auth-dialog",
        kwargs={"organization_slug": tenant.organization.slug, "target": str(tickets.pk)},
    )
    open_page(client, path, wizard_code(tenant, end_user))
    cancelled = client.post(path, {"action": "cancel"})
    assert posted_message(cancelled) == {"type": "auth.close"}


# --- branding --------------------------------------------------------------------------------------


def test_the_pages_carry_the_organizations_branding(world, opened):
    tenant, _, _, _, _ = world
    organization = tenant.organization
    organization.wizard_brand_name = "Acme CRM"
    organization.wizard_logo_url = "https://cdn.example.com/logo.png"
    organization.wizard_accent_colour = "#1b2a41"
    organization.save()
    client, path = opened

    page = client.get(path)
    body = page.content.decode()

    nonce = re.search(r"<style nonce=\"([^\"]+)\">:root \{ --accent: #1b2a41;", body).group(1)
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
    assert "img-src 'self' https://cdn.example.com;" in page["Content-Security-Policy"]
    assert (
        'src="https://cdn.example.com/logo.png" alt="Acme CRM" referrerpolicy="no-referrer"' in body
    )
    assert "<title>Your CRM · Acme CRM</title>" in body or "· Acme CRM</title>" in body
