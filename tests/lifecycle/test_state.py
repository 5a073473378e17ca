"""lifecycle/state.py's transition table is the specification: for every row, an auth in that
status to which that happens ends in the row's next status with the row's events recorded, in
order; for what the table leaves out, nothing changes and nothing is recorded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from auths.tokens import RefreshRejected
from events.models import AuthEvent
from lifecycle import state
from lifecycle.state import TRANSITIONS, Happened
from tests.lifecycle.factories import make_auth, make_service, token_response

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def auth_in(tenant, status, *, dying=False):
    """An auth in `status`; `dying` puts its predicted death inside the warning window."""
    if dying:
        service = make_service(umbrella_status="test", test_refresh_token_lifetime=7 * 86400)
        auth = make_auth(tenant, service, consented_at=timezone.now() - 3 * DAY)
    else:
        auth = make_auth(tenant)
    Authentication.objects.filter(pk=auth.pk).update(status=status)
    return Authentication.objects.select_related("service", "organization").get(pk=auth.pk)


def happen(auth, happened: Happened):
    """Make `happened` happen to the auth, the way the code that owns that event does it."""
    now = timezone.now()
    if happened == Happened.CONNECTED:
        state.connection_recorded(
            authentication=auth, token_response=None, reauthorized=False, message="Connected."
        )
    elif happened == Happened.REAUTHORIZED:
        state.connection_recorded(
            authentication=auth, token_response=None, reauthorized=True, message="Again."
        )
    elif happened == Happened.REFRESHED:
        state.refresh_succeeded(
            authentication=auth,
            read_version=auth.version,
            credentials={},
            token_response=token_response(),
            rotated=False,
            now=now,
        )
    elif happened == Happened.REFRESH_FAILED:
        state.refresh_failed(authentication=auth, description="HTTP 503", retry_after=None, now=now)
    elif happened == Happened.RETRIES_EXHAUSTED:
        Authentication.objects.filter(pk=auth.pk).update(access_token_expires_at=now - DAY)
        auth.access_token_expires_at = now - DAY
        state.retries_exhausted(
            authentication=auth, message="HTTP 503", next_try=now + DAY, now=now
        )
    elif happened == Happened.REFRESH_REJECTED:
        state.refresh_rejected(
            authentication=auth, error=RefreshRejected("invalid_grant", "revoked"), now=now
        )
    elif happened == Happened.GRANT_MOVED:
        state.grant_moved(authentication=auth, reason="The token URL moved.", now=now)
    elif happened in (Happened.DEATH_NEAR, Happened.DEATH_RECEDED):
        state.expiry_evaluate(authentication=auth, now=now)
    elif happened == Happened.DISABLED:
        state.disable(authentication=auth, message="Paused.")
    elif happened == Happened.ENABLED:
        state.enable(authentication=auth, message="Resumed.")


def kinds(auth):
    return list(
        AuthEvent.objects.filter(authentication=auth).order_by("id").values_list("kind", flat=True)
    )


ROWS = [(status, happened) for (status, happened) in TRANSITIONS if status is not None]


@pytest.mark.parametrize(("status", "happened"), ROWS)
def test_every_row_of_the_table_is_what_happens(tenant, status, happened):
    transition = TRANSITIONS[(status, happened)]
    # An expiring auth's death is near (else the evaluation that follows a write moves it back);
    # re-authorizing starts a new grant, and the death that recedes must not be near.
    dying = happened == Happened.DEATH_NEAR or (
        status == AuthStatus.EXPIRING
        and happened not in (Happened.REAUTHORIZED, Happened.DEATH_RECEDED)
    )
    auth = auth_in(tenant, status, dying=dying)
    before = kinds(auth)
    happen(auth, happened)
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == transition.to
    recorded = kinds(auth)[len(before) :]
    assert recorded[: len(transition.records)] == list(transition.records)


def test_a_new_auth_is_active_and_says_it_was_created(tenant):
    auth = make_auth(tenant)
    happen(auth, Happened.CONNECTED)
    assert Authentication.objects.get(pk=auth.pk).status == AuthStatus.ACTIVE
    assert kinds(auth) == ["created"]


# What the table leaves out changes nothing. (A refresh never reaches the provider for an auth
# waiting for a person: lifecycle/refresh.py refuses before, tests/lifecycle/test_refresh.py.)
UNLISTED = [
    (status, happened)
    for status in AuthStatus.values
    for happened in (
        Happened.RETRIES_EXHAUSTED,
        Happened.GRANT_MOVED,
        Happened.DEATH_NEAR,
        Happened.DEATH_RECEDED,
        Happened.DISABLED,
        Happened.ENABLED,
    )
    if (status, happened) not in TRANSITIONS
]


@pytest.mark.parametrize(("status", "happened"), UNLISTED)
def test_what_the_table_leaves_out_changes_nothing(tenant, status, happened):
    auth = auth_in(tenant, status, dying=happened == Happened.DEATH_NEAR)
    before = kinds(auth)
    happen(auth, happened)
    assert Authentication.objects.get(pk=auth.pk).status == status
    assert kinds(auth) == before


def test_every_status_can_be_left_by_a_person():
    """No dead end: whatever the status, re-authorizing makes the auth active again."""
    for status in AuthStatus.values:
        assert TRANSITIONS[(status, Happened.REAUTHORIZED)].to == AuthStatus.ACTIVE


def test_a_failure_episode_is_announced_once_and_closed_by_a_refresh(tenant):
    auth = auth_in(tenant, AuthStatus.ACTIVE)
    for _ in range(3):
        happen(auth, Happened.REFRESH_FAILED)
    failures = AuthEvent.objects.filter(authentication=auth, kind="refresh_failed")
    assert failures.count() == 3
    assert Authentication.objects.get(pk=auth.pk).notified_status == "refresh_failed"
    happen(
        Authentication.objects.select_related("service", "organization").get(pk=auth.pk),
        Happened.REFRESHED,
    )
    assert kinds(auth)[-2:] == ["refreshed", "recovered"]
    assert Authentication.objects.get(pk=auth.pk).notified_status == ""
