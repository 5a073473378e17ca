"""The config wizard's and the auth dialog's domain (embedded/wizard.py): a code opens one page for
one end user, the session sees that end user's auths and instances only, the screens offer what a
slot can take, answers are checked and named, Finish saves the instance through the same domain
functions as the API. The pages themselves: tests/pages/test_wizard_pages.py and, in Chromium,
tests/browser/test_wizard.py."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication
from embedded.connect_links import platform_page
from embedded.instances import instance_create
from embedded.models import InstanceAuth, SolutionInstance, WizardPage, WizardSession
from embedded.wizard import (
    DIALOG,
    WizardAddress,
    WizardRefused,
    auth_dialog_finish,
    session_screens,
    wizard_cancel,
    wizard_choose_auths,
    wizard_configure,
    wizard_connect,
    wizard_pending_resolve,
    wizard_save,
    wizard_session_get,
    wizard_session_start,
)
from infrastructure.errors import RuleViolation
from tests.conftest import build_tenant
from tests.connections.helpers import path_of
from tests.embedded.builders import (
    browser_service,
    imported_auth,
    make_end_user,
    token_auth,
    wizard_code,
    wizard_solution,
)
from workspaces.access import actor_for_end_user
from workspaces.models import Edition

pytestmark = pytest.mark.django_db

SETTINGS = {"channel": "#deals", "limit": 5, "notify": True, "region": "eu", "topics": ["sales"]}


def solution_address(tenant, solution):
    return WizardAddress(
        organization_slug=tenant.organization.slug,
        page=WizardPage.WIZARD,
        solution_id=solution.pk,
    ), reverse(
        "embedded-wizard-solution",
        kwargs={"organization_slug": tenant.organization.slug, "solution_id": solution.pk},
    )


def instance_address(tenant, instance):
    return WizardAddress(
        organization_slug=tenant.organization.slug,
        page=WizardPage.WIZARD,
        instance_id=instance.pk,
    ), reverse(
        "embedded-wizard-instance",
        kwargs={"organization_slug": tenant.organization.slug, "instance_id": instance.pk},
    )


def dialog_address(tenant, target, authentication=""):
    return WizardAddress(
        organization_slug=tenant.organization.slug,
        page=WizardPage.AUTH_DIALOG,
        target=str(target),
        authentication_id=str(authentication),
    ), reverse(
        "embedded-auth-dialog",
        kwargs={"organization_slug": tenant.organization.slug, "target": str(target)},
    )


def start(tenant, raw_code, address_and_path):
    address, path = address_and_path
    return wizard_session_start(raw_code=raw_code, address=address, home_path=path)


@pytest.fixture
def world(embedded_tenant, server):
    solution, crm, tickets = wizard_solution(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant, "customer-1")
    return embedded_tenant, solution, crm, tickets, end_user


def session_for(world):
    tenant, solution, _, _, end_user = world
    code = wizard_code(tenant, end_user, solution=solution)
    session, _ = start(tenant, code, solution_address(tenant, solution))
    return session


def connect_desk(session, api_key="desk-key"):
    """The end user fills the ticket desk's form in the wizard (a new auth: force unique)."""
    return wizard_connect(
        session=session,
        slot="tickets",
        inputs={"credentials": {"api_key": api_key}},
        base_url="http://testserver/",
        return_url="",
    )


def fill(session, *, crm_auth, settings=SETTINGS):
    """Every screen answered: the CRM auth picked, a desk connected, the settings given."""
    screens = session_screens(session)
    assert (
        wizard_choose_auths(session=session, screen=screens[0], choices={"crm": crm_auth.pk}) == {}
    )
    desk = connect_desk(session)
    assert wizard_configure(session=session, screen=screens[2], values=settings) == {}
    return desk


# --- getting in ------------------------------------------------------------------------------------


def test_a_code_opens_a_session_for_its_end_user_on_that_page_only(world):
    tenant, solution, _, _, end_user = world
    address, path = solution_address(tenant, solution)
    before = timezone.now()

    session, token = wizard_session_start(
        raw_code=wizard_code(tenant, end_user, solution=solution), address=address, home_path=path
    )

    assert (session.end_user, session.solution, session.page) == (
        end_user,
        solution,
        WizardPage.WIZARD,
    )
    assert token not in session.token_hash and len(token) >= 43  # stored as its SHA-256
    assert timedelta(minutes=29) < session.expires_at - before <= timedelta(minutes=30, seconds=5)
    assert wizard_session_get(raw_token=token, path=path).pk == session.pk
    # The session reaches its page and that page's actions, nothing else.
    other, other_path = dialog_address(tenant, "crm")
    with pytest.raises(WizardRefused):
        wizard_session_get(raw_token=token, path=other_path)
    with pytest.raises(WizardRefused):
        wizard_session_get(raw_token="not-" + token, path=path)


def test_a_session_ends_after_its_lifetime(world):
    tenant, solution, _, _, end_user = world
    session, token = start(
        tenant, wizard_code(tenant, end_user, solution=solution), solution_address(tenant, solution)
    )
    later = timezone.now() + timedelta(minutes=31)
    with pytest.raises(WizardRefused) as refused:
        wizard_session_get(raw_token=token, path=session.home_path, now=later)
    assert "30 minutes" in refused.value.message


def test_a_code_works_once_and_a_used_or_unknown_one_says_so(world):
    tenant, solution, _, _, end_user = world
    code = wizard_code(tenant, end_user, solution=solution)
    start(tenant, code, solution_address(tenant, solution))
    for raw in (code, "made-up-code"):
        with pytest.raises(WizardRefused) as refused:
            start(tenant, raw, solution_address(tenant, solution))
        assert "codes work once, for 10 minutes" in refused.value.message


def test_an_expired_code_is_refused(world):
    tenant, solution, _, _, end_user = world
    address, path = solution_address(tenant, solution)
    code = wizard_code(tenant, end_user, solution=solution)
    with pytest.raises(WizardRefused):
        wizard_session_start(
            raw_code=code,
            address=address,
            home_path=path,
            now=timezone.now() + timedelta(minutes=11),
        )


def test_another_organizations_code_is_refused_on_this_organizations_page(world, server):
    tenant, solution, _, _, _ = world
    other = build_tenant(edition=Edition.EMBEDDED, name="Othercorp")
    other_solution, _, _ = wizard_solution(other, server)
    other_code = wizard_code(other, make_end_user(other), solution=other_solution)

    with pytest.raises(WizardRefused) as refused:
        start(tenant, other_code, solution_address(tenant, solution))

    assert refused.value.title == "This link is for another organization"
    assert "another organization's app" in refused.value.message
    assert not WizardSession.objects.exists()
    # Used up: it cannot be tried again on its own organization's page either.
    with pytest.raises(WizardRefused):
        start(other, other_code, solution_address(other, other_solution))


def test_a_code_fits_only_the_page_it_was_bound_to(world, server):
    tenant, solution, crm, _, end_user = world
    other_solution, _, _ = wizard_solution(tenant, server, crm=crm)
    with pytest.raises(WizardRefused) as refused:
        start(
            tenant,
            wizard_code(tenant, end_user, solution=solution),
            solution_address(tenant, other_solution),
        )
    assert "another integration" in refused.value.message

    instance = instance_create(
        actor=tenant.actor(tenant.owner), solution=solution, end_user=end_user
    )
    with pytest.raises(WizardRefused) as refused:
        start(
            tenant,
            wizard_code(tenant, end_user, instance=instance),
            solution_address(tenant, solution),
        )
    assert "already set up" in refused.value.message


def test_an_end_user_cannot_open_another_end_users_instance(world):
    tenant, solution, _, _, end_user = world
    someone = make_end_user(tenant, "customer-2")
    theirs = instance_create(actor=tenant.actor(tenant.owner), solution=solution, end_user=someone)

    with pytest.raises(WizardRefused) as refused:
        start(tenant, wizard_code(tenant, end_user), instance_address(tenant, theirs))

    assert "not yours" in refused.value.message


# --- what a session can see ------------------------------------------------------------------------


def test_the_screens_offer_only_this_end_users_auths(world, server):
    tenant, solution, crm, _, end_user = world
    mine = imported_auth(end_user, crm)
    theirs = imported_auth(make_end_user(tenant, "customer-2"), crm)
    session = session_for(world)

    crm_screen = session_screens(session)[0]
    [crm_step] = crm_screen.auth_steps

    assert [a.pk for a in crm_step.choices] == [mine.pk]
    # Picking another end user's auth by id is refused, and nothing is recorded.
    errors = wizard_choose_auths(session=session, screen=crm_screen, choices={"crm": theirs.pk})
    assert errors == {"crm": "Choose a Test API account for 'Your CRM', or connect a new one."}
    session.refresh_from_db()
    assert session.draft.get("auths", {}) == {}


def test_an_auth_without_the_slots_scopes_is_not_offered(world, server):
    tenant, _, crm, _, end_user = world
    imported_auth(end_user, crm, scopes=["write"])
    session = session_for(world)
    assert session_screens(session)[0].auth_steps[0].choices == []


def test_force_unique_hides_existing_auths_but_offers_the_one_made_in_the_session(world):
    tenant, _, _, tickets, end_user = world
    token_auth(end_user, tickets, name="Old desk")
    session = session_for(world)
    tickets_screen = session_screens(session)[1]
    assert tickets_screen.auth_steps[0].force_unique
    assert tickets_screen.auth_steps[0].choices == []

    made = wizard_connect(
        session=session,
        slot="tickets",
        inputs={"credentials": {"api_key": "fresh-key"}},
        base_url="http://testserver/",
        return_url="",
    )

    step = session_screens(session)[1].auth_steps[0]
    assert [a.pk for a in step.choices] == [made.pk]
    assert step.chosen == str(made.pk)
    assert made.end_user == end_user and made.api_key.reveal() == "fresh-key"


def test_a_wizard_session_cannot_call_the_api(world, server):
    tenant, solution, _, _, end_user = world
    client = Client()
    page = reverse(
        "embedded-wizard-solution",
        kwargs={"organization_slug": tenant.organization.slug, "solution_id": solution.pk},
    )
    code = wizard_code(tenant, end_user, solution=solution)
    client.get(page, {"code": code})
    opened = client.get(page, {"code": code, "probe": "1"})
    assert opened.status_code == 303
    assert "embedded_wizard" in client.cookies

    for name in ("instance-list", "authentication-list", "end-user-list"):
        response = client.get(reverse(name, kwargs={"organization_slug": tenant.organization.slug}))
        assert response.status_code in (401, 403), name
    # Nor sign a member in: no session of the member pages was made.
    assert "sessionid" not in client.cookies
    assert client.get(reverse("account:home")).status_code == 302


# --- answers ---------------------------------------------------------------------------------------


def test_required_config_values_are_refused_by_name(world):
    session = session_for(world)
    settings_screen = session_screens(session)[2]

    errors = wizard_configure(
        session=session,
        screen=settings_screen,
        values={"channel": None, "region": 5, "limit": "ten"},
    )

    assert set(errors) == {"channel", "region", "limit"}
    assert "'Channel' is required" in errors["channel"]
    assert "'Region'" in errors["region"]
    assert "'Daily limit'" in errors["limit"]
    session.refresh_from_db()
    assert "channel" not in session.draft.get("config", {})


def test_a_value_off_the_slots_pattern_is_refused_by_name(world):
    session = session_for(world)
    errors = wizard_configure(
        session=session,
        screen=session_screens(session)[2],
        values={**SETTINGS, "channel": "deals"},
    )
    assert list(errors) == ["channel"]
    assert "'Channel' must match the pattern #[a-z0-9-]+" in errors["channel"]


def test_the_screens_follow_the_release_layout(world):
    session = session_for(world)
    screens = session_screens(session)
    assert [s.title for s in screens] == ["Test API", "Ticket desk", "Settings"]
    assert [s.external_id for s in screens[2].steps] == [
        "channel",
        "limit",
        "notify",
        "region",
        "topics",
        "extra",
    ]
    # Defaults are there from the start.
    assert {s.external_id: s.value for s in screens[2].config_steps}["limit"] == 10


def test_finish_saves_a_disabled_instance_once(world, server):
    tenant, solution, crm, tickets, end_user = world
    crm_auth = imported_auth(end_user, crm)
    session = session_for(world)
    desk = fill(session, crm_auth=crm_auth)

    instance = wizard_save(session=session)
    again = wizard_save(session=session)  # a double click on Finish

    assert again.pk == instance.pk and SolutionInstance.objects.count() == 1
    assert not instance.enabled
    assert instance.end_user == end_user and instance.solution == solution
    assert dict(instance.auth_bindings.values_list("slot", "authentication_id")) == {
        "crm": crm_auth.pk,
        "tickets": desk.pk,
    }
    assert instance.config_values == {**SETTINGS}
    session.refresh_from_db()
    assert session.result == {"type": "instance.configured", "instance_id": str(instance.pk)}
    with pytest.raises(WizardRefused):
        wizard_cancel(session=session)  # finished: nothing more to do there


def test_finish_names_the_slot_still_missing(world, server):
    tenant, _, crm, _, end_user = world
    crm_auth = imported_auth(end_user, crm)
    session = session_for(world)
    wizard_choose_auths(
        session=session, screen=session_screens(session)[0], choices={"crm": crm_auth.pk}
    )

    with pytest.raises(RuleViolation) as refused:
        wizard_save(session=session)

    assert refused.value.field == "auths.tickets"
    assert not SolutionInstance.objects.exists()


def test_the_wizard_edits_an_instance_and_keeps_its_force_unique_auth(world, server):
    tenant, solution, crm, tickets, end_user = world
    crm_auth = imported_auth(end_user, crm)
    desk = token_auth(end_user, tickets)
    instance = instance_create(
        actor=actor_for_end_user(end_user),
        solution=solution,
        end_user=end_user,
        config_values=SETTINGS,
        auth_values=[
            {"external_id": "crm", "authentication_id": str(crm_auth.pk)},
            {"external_id": "tickets", "authentication_id": str(desk.pk)},
        ],
    )
    session, _ = start(
        tenant, wizard_code(tenant, end_user, instance=instance), instance_address(tenant, instance)
    )
    screens = session_screens(session)
    assert screens[1].auth_steps[0].chosen == str(desk.pk)  # force unique: its own one stays
    wizard_configure(session=session, screen=screens[2], values={**SETTINGS, "channel": "#won"})

    saved = wizard_save(session=session)

    assert saved.pk == instance.pk
    assert saved.config_values["channel"] == "#won"


def test_cancel_saves_nothing(world):
    session = session_for(world)
    assert wizard_cancel(session=session) == {"type": "wizard.close"}
    assert not SolutionInstance.objects.exists()


# --- connecting through the provider ---------------------------------------------------------------


def test_a_sign_in_started_by_the_wizard_comes_back_to_the_platforms_page(world, server):
    tenant, _, _, _, end_user = world
    session = session_for(world)
    account = server.create_user("eu-popup")
    finished = "http://testserver" + reverse("embedded-oauth-finished")

    started = wizard_connect(
        session=session, slot="crm", inputs={}, base_url="http://testserver/", return_url=finished
    )
    assert session.draft["pending"] == {"crm": str(started.transaction.pk)}
    assert platform_page(started.transaction, finished)
    redirect = server.authorize(started.authorize_url, account["username"], account["password"])
    callback = Client().get(path_of(redirect))

    assert callback.status_code == 302
    assert callback["Location"].startswith(finished + "?status=connected&authentication_id=")
    wizard_pending_resolve(session=session)
    auth = Authentication.objects.get(end_user=end_user)
    assert session.draft["auths"] == {"crm": str(auth.pk)}
    assert session.draft["pending"] == {}
    assert session_screens(session)[0].auth_steps[0].chosen == str(auth.pk)


def test_a_declined_sign_in_is_shown_on_its_slot(embedded_tenant, server):
    crm = browser_service(embedded_tenant, server, skip_authorization=False)
    solution, _, _ = wizard_solution(embedded_tenant, server, crm=crm)
    end_user = make_end_user(embedded_tenant)
    session, _ = start(
        embedded_tenant,
        wizard_code(embedded_tenant, end_user, solution=solution),
        solution_address(embedded_tenant, solution),
    )
    account = server.create_user("eu-declines")
    started = wizard_connect(
        session=session, slot="crm", inputs={}, base_url="http://testserver/", return_url=""
    )
    redirect = server.authorize(
        started.authorize_url, account["username"], account["password"], False
    )
    Client().get(path_of(redirect))

    errors = wizard_pending_resolve(session=session)

    assert "declined" in errors["crm"]
    assert session_screens(session)[0].auth_steps[0].error == errors["crm"]


# --- the auth-only dialog --------------------------------------------------------------------------


def test_the_dialog_renews_an_auth_in_place(world):
    tenant, _, _, tickets, end_user = world
    desk = token_auth(end_user, tickets, api_key="old")
    session, _ = start(
        tenant, wizard_code(tenant, end_user), dialog_address(tenant, tickets.pk, desk.pk)
    )

    renewed = wizard_connect(
        session=session,
        slot=None,
        inputs={"credentials": {"api_key": "new"}},
        base_url="http://testserver/",
        return_url="",
    )
    result = auth_dialog_finish(session=session)

    assert renewed.pk == desk.pk
    assert Authentication.objects.get(pk=desk.pk).api_key.reveal() == "new"
    assert result == {"type": "auth.finish", "authentication_id": str(desk.pk)}


def test_the_dialog_refuses_to_renew_another_end_users_auth(world):
    tenant, _, _, tickets, end_user = world
    theirs = token_auth(make_end_user(tenant, "customer-2"), tickets)
    with pytest.raises(WizardRefused) as refused:
        start(tenant, wizard_code(tenant, end_user), dialog_address(tenant, tickets.pk, theirs.pk))
    assert "not yours" in refused.value.message


def test_the_dialog_of_an_instances_slot_binds_the_new_auth(world):
    tenant, solution, _, _, end_user = world
    instance = instance_create(
        actor=tenant.actor(tenant.owner), solution=solution, end_user=end_user
    )
    session, _ = start(
        tenant, wizard_code(tenant, end_user, instance=instance), dialog_address(tenant, "tickets")
    )

    made = wizard_connect(
        session=session,
        slot=None,
        inputs={"credentials": {"api_key": "k"}},
        base_url="http://testserver/",
        return_url="",
    )
    result = auth_dialog_finish(session=session)

    assert result == {"type": "auth.finish", "authentication_id": str(made.pk)}
    assert InstanceAuth.objects.get(instance=instance, slot="tickets").authentication == made
    assert session.draft["auths"] == {DIALOG: str(made.pk)}


def test_a_bound_codes_dialog_names_only_its_solutions_slots(world, server):
    tenant, solution, _, _, end_user = world
    unrelated = token_auth(end_user, wizard_solution(tenant, server)[2])
    with pytest.raises(WizardRefused):
        start(
            tenant,
            wizard_code(tenant, end_user, solution=solution),
            dialog_address(tenant, unrelated.service_id),
        )
    with pytest.raises(WizardRefused):
        start(
            tenant, wizard_code(tenant, end_user, solution=solution), dialog_address(tenant, "nope")
        )
