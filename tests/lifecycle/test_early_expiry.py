"""Early expiry, detected: auths refused long before their expected lifetime are flagged with their
age; a service whose auths keep dying at a similar short age is flagged with evidence and advice,
and the flag clears when an auth outlives the suspected limit."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from auths.tokens import RefreshRejected
from events.models import AuthEvent
from lifecycle import state
from lifecycle.early_expiry import find_cluster, rejection_analyse
from services.models import Service
from tests.events.helpers import deliver_pending_emails
from tests.lifecycle.factories import make_auth, make_service, record_refresh

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


REFUSED = RefreshRejected("invalid_grant", "Token has been expired or revoked.")


def die(auth, *, age):
    """The auth was consented `age` ago and its refresh was just refused: what
    lifecycle/refresh.py does on invalid_grant (needs_reauth, then the early-expiry analysis)."""
    Authentication.objects.filter(pk=auth.pk).update(consented_at=timezone.now() - age)
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
    state.refresh_rejected(authentication=auth, error=REFUSED, now=timezone.now())
    rejection_analyse(authentication=auth)
    return Authentication.objects.get(pk=auth.pk)


def test_a_young_auth_refused_is_flagged_expired_early_with_its_age(tenant):
    auth = die(make_auth(tenant), age=7 * DAY)
    flag = next(f for f in auth.flags if f["code"] == "expired_early")
    assert flag["age_seconds"] == pytest.approx(7 * 86400, abs=60)
    assert "7 days" in flag["message"]
    event = AuthEvent.objects.get(authentication=auth, kind="expired_early")
    assert event.data["age_seconds"] == pytest.approx(7 * 86400, abs=60)
    assert auth.refresh_due_at is None


def test_a_death_at_the_predicted_age_is_not_early(tenant):
    service = make_service(refresh_token_max_age=30 * 86400)
    auth = make_auth(tenant, service, refresh_token_issued_at=timezone.now() - 30 * DAY)
    Authentication.objects.filter(pk=auth.pk).update(consented_at=timezone.now() - 30 * DAY)
    auth = Authentication.objects.select_related("service").get(pk=auth.pk)
    assert rejection_analyse(authentication=auth) is False
    assert not AuthEvent.objects.filter(authentication=auth, kind="expired_early").exists()


def test_three_deaths_at_a_similar_age_flag_the_service_with_evidence(
    tenant, other_tenant, django_capture_on_commit_callbacks
):
    service = make_service()
    bystander = make_auth(other_tenant, service)
    ages = [7 * DAY - timedelta(hours=3), 7 * DAY, 7 * DAY + timedelta(hours=5)]
    for age in ages[:2]:
        die(make_auth(tenant, service), age=age)
    service.refresh_from_db()
    assert service.suspected_test_status is False
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        die(make_auth(tenant, service), age=ages[2])
    deliver_pending_emails()
    service.refresh_from_db()
    assert service.suspected_test_status is True
    evidence = service.suspected_evidence
    assert len(evidence["auths"]) == 3
    assert evidence["suspected_lifetime_seconds"] == pytest.approx(7 * 86400, abs=60)
    assert "publish" in evidence["advice"] and "support" in evidence["advice"]
    flagged = AuthEvent.objects.get(organization=tenant.organization, kind="service_flagged")
    assert len(flagged.data["auths"]) == 3
    # The other organization hears it too, without our auths' names.
    theirs = AuthEvent.objects.get(organization=other_tenant.organization, kind="service_flagged")
    assert theirs.data["auths"] == [] and theirs.data["deaths_total"] == 3
    # Its live auth now shows the suspected death date.
    bystander.refresh_from_db()
    assert "suspected" in bystander.refresh_token_expiry_reason
    assert any("Service flagged" in m.subject for m in mail.outbox)


def test_a_fourth_death_does_not_flag_again(tenant):
    service = make_service()
    for _ in range(4):
        die(make_auth(tenant, service), age=7 * DAY)
    assert AuthEvent.objects.filter(kind="service_flagged").count() == 1


def test_scattered_ages_do_not_flag_the_service(tenant):
    service = make_service()
    for days in (2, 5, 9, 20):
        die(make_auth(tenant, service), age=days * DAY)
    service.refresh_from_db()
    assert service.suspected_test_status is False


def test_cluster_is_within_one_day_either_side():
    deaths = [{"age_seconds": d * 86400} for d in (1, 5.9, 6.5, 7, 8, 8.3, 30)]
    assert [d["age_seconds"] / 86400 for d in find_cluster(deaths)] == [6.5, 7, 8, 8.3]


def test_flag_clears_when_an_auth_outlives_the_suspected_limit(tenant):
    service = make_service()
    survivor = make_auth(tenant, service)
    for _ in range(3):
        die(make_auth(tenant, service), age=7 * DAY)
    # Flagged two days ago: past the hysteresis window (a day).
    Service.objects.filter(pk=service.pk).update(suspected_at=timezone.now() - 2 * DAY)
    Authentication.objects.filter(pk=survivor.pk).update(consented_at=timezone.now() - 9 * DAY)
    survivor = Authentication.objects.select_related("service", "organization").get(pk=survivor.pk)
    record_refresh(survivor, None)
    service = Service.objects.get(pk=service.pk)
    assert service.suspected_test_status is False
    assert service.suspected_evidence["cleared_by"]["authentication_id"] == str(survivor.pk)
    assert AuthEvent.objects.filter(kind="service_cleared").count() == 1


def test_the_flag_does_not_flap_within_the_hysteresis_window(tenant, settings):
    settings.EARLY_EXPIRY_FLAG_HYSTERESIS_SECONDS = 3600
    service = make_service()
    survivor = make_auth(tenant, service)
    for _ in range(3):
        die(make_auth(tenant, service), age=7 * DAY)
    Authentication.objects.filter(pk=survivor.pk).update(consented_at=timezone.now() - 9 * DAY)
    record_refresh(survivor)  # would clear it, but it was raised moments ago
    service = Service.objects.get(pk=service.pk)
    assert service.suspected_test_status is True
    # Cleared (an hour later), then the same deaths again at once: not raised again yet.
    Service.objects.filter(pk=service.pk).update(suspected_at=timezone.now() - 2 * DAY)
    record_refresh(survivor)
    assert Service.objects.get(pk=service.pk).suspected_test_status is False
    die(make_auth(tenant, service), age=7 * DAY)
    assert Service.objects.get(pk=service.pk).suspected_test_status is False
    assert AuthEvent.objects.filter(kind="service_flagged").count() == 1
    assert AuthEvent.objects.filter(kind="service_cleared").count() == 1


def test_a_death_at_the_suspected_age_after_the_flag_is_still_recorded(tenant):
    service = make_service()
    for _ in range(3):
        die(make_auth(tenant, service), age=7 * DAY)
    late = die(make_auth(tenant, service), age=7 * DAY)
    assert any(f["code"] == "expired_early" for f in late.flags)
    assert AuthEvent.objects.filter(authentication=late, kind="expired_early").exists()
    evidence = Service.objects.get(pk=service.pk).suspected_evidence
    assert str(late.pk) in [a["authentication_id"] for a in evidence["auths"]]


def test_a_prediction_in_the_past_is_no_prediction(tenant):
    service = make_service()
    for _ in range(3):
        die(make_auth(tenant, service), age=7 * DAY)
    # Consented ten days ago and still refreshing: the suspected 7-day death has passed.
    old = make_auth(tenant, service, consented_at=timezone.now() - 10 * DAY)
    old = Authentication.objects.select_related("service", "organization").get(pk=old.pk)
    assert state.expiry_evaluate(authentication=old) == AuthStatus.ACTIVE
    old.refresh_from_db()
    assert old.refresh_token_expires_at is None and "Dies on" not in old.status_reason


@pytest.mark.django_db(transaction=True)
def test_deaths_analysed_at_the_same_moment_still_flag_the_service(tenant, monkeypatch):
    """Each analysis used to count only the deaths committed before it, so three analysed at once
    saw one each and none flagged the service. The barrier holds each analysis right after it
    recorded its death (for at most a second: with the service lock, the others wait for it)."""
    import threading

    from django.db import connection

    from lifecycle.refresh import _learn_from_rejection

    service = make_service()
    auths = [make_auth(tenant, service) for _ in range(3)]
    for auth in auths:
        Authentication.objects.filter(pk=auth.pk).update(consented_at=timezone.now() - 7 * DAY)
    together = threading.Barrier(3)
    record = state.early_death_flagged

    def record_then_wait(**kwargs):
        record(**kwargs)
        try:
            together.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(state, "early_death_flagged", record_then_wait)

    def die_now(auth):
        try:
            auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
            state.refresh_rejected(authentication=auth, error=REFUSED, now=timezone.now())
            _learn_from_rejection(auth)  # in its own transaction, as after a refresh
        finally:
            connection.close()

    threads = [threading.Thread(target=die_now, args=(auth,)) for auth in auths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Service.objects.get(pk=service.pk).suspected_test_status is True
