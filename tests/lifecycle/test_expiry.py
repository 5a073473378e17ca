"""Early expiry, predicted: every auth gets the date its refresh token dies and why; within the
organization's warning window it becomes `expiring` and people are told once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from auths.models import Authentication, AuthStatus
from events.models import AuthEvent
from lifecycle import state
from lifecycle.expiry import expiry_evaluate_all
from lifecycle.predictions import refresh_token_death_predict
from tests.events.helpers import deliver_pending_emails
from tests.lifecycle.factories import make_auth, make_service, record_refresh, token_response

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def google_in_testing(**values):
    return make_service(
        umbrella_status="test",
        test_refresh_token_lifetime=7 * 86400,
        test_exempt_scopes=["openid", "email", "profile"],
        **values,
    )


def test_test_status_service_dies_seven_days_after_consent(tenant):
    consent = timezone.now() - timedelta(days=2)
    auth = make_auth(tenant, google_in_testing(), consented_at=consent, scopes=["drive"])
    assert auth.refresh_token_expires_at == consent + timedelta(days=7)
    assert "test status" in auth.refresh_token_expiry_reason
    assert "7 days after consent" in auth.refresh_token_expiry_reason


def test_only_exempt_scopes_are_not_shortened(tenant):
    auth = make_auth(tenant, google_in_testing(), scopes=["openid", "email"])
    assert auth.refresh_token_expires_at is None


def test_max_age_and_idle_rules_take_the_earliest(tenant):
    now = timezone.now()
    service = make_service(refresh_token_max_age=90 * 86400, refresh_token_idle_timeout=30 * 86400)
    auth = make_auth(tenant, service, refresh_token_issued_at=now, last_refreshed_at=now)
    assert abs(auth.refresh_token_expires_at - (now + timedelta(days=30))) < timedelta(seconds=5)
    assert "unused for 30 days" in auth.refresh_token_expiry_reason


def test_no_refresh_token_dies_with_the_access_token(tenant):
    expires = timezone.now() + timedelta(hours=2)
    auth = make_auth(tenant, refresh_token=None, access_token_expires_at=expires)
    death = refresh_token_death_predict(auth)
    assert death.expires_at == expires and death.code == "no_refresh_token"
    assert auth.refresh_due_at is None  # nothing to refresh with


def test_client_credentials_and_token_auths_have_no_prediction(tenant):
    assert (
        make_auth(tenant, make_service(grant_type="client_credentials")).refresh_token_expires_at
        is None
    )
    token = make_service(auth_scheme="token", grant_type="")
    assert make_auth(tenant, token).refresh_token_expires_at is None


def test_declared_lifetime_is_predicted_and_makes_the_auth_expiring(tenant):
    auth = make_auth(tenant)
    record_refresh(auth, token_response(refresh_token_expires_in=2 * 86400))
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.refresh_token_declared_expires_at is not None
    assert abs(stored.refresh_token_expires_at - (timezone.now() + 2 * DAY)) < timedelta(minutes=1)
    assert stored.status == AuthStatus.EXPIRING
    assert "declared" in stored.status_reason and "Dies on" in stored.status_reason
    event = AuthEvent.objects.get(authentication=auth, kind="expiring")
    assert event.data["rule"] == "declared"


def test_a_new_refresh_token_without_declaration_clears_the_old_declaration(tenant):
    auth = make_auth(tenant)
    record_refresh(auth, token_response(refresh_token_expires_in=30 * 86400))
    record_refresh(auth, token_response(refresh_token="rotated"))
    assert Authentication.objects.get(pk=auth.pk).refresh_token_expires_at is None


def test_expiring_is_announced_once_to_owner_and_org_owner(
    tenant, django_capture_on_commit_callbacks
):
    consent = timezone.now() - timedelta(days=3)
    auth = make_auth(tenant, google_in_testing(), consented_at=consent, scopes=["drive"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert state.expiry_evaluate(authentication=auth) == AuthStatus.EXPIRING
        state.expiry_evaluate(authentication=Authentication.objects.get(pk=auth.pk))
        expiry_evaluate_all()
    assert deliver_pending_emails() == ["delivered"]
    assert AuthEvent.objects.filter(authentication=auth, kind="expiring").count() == 1
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {tenant.owner.email, tenant.contributor.email}
    assert "Expiring" in mail.outbox[0].subject
    assert "Re-authenticate" in mail.outbox[0].body


def test_warning_window_is_per_organization(tenant):
    tenant.organization.expiry_warning_days = 2
    tenant.organization.save()
    consent = timezone.now() - timedelta(days=3)  # dies in 4 days
    auth = make_auth(tenant, google_in_testing(), consented_at=consent, scopes=["drive"])
    assert state.expiry_evaluate(authentication=auth) == AuthStatus.ACTIVE


def test_reauthorizing_ends_the_expiring_episode(tenant):
    service = google_in_testing()
    auth = make_auth(tenant, service, consented_at=timezone.now() - 3 * DAY, scopes=["drive"])
    state.expiry_evaluate(authentication=auth)
    assert Authentication.objects.get(pk=auth.pk).status == AuthStatus.EXPIRING
    service.umbrella_status = "verified"
    service.save()
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
    auth.consented_at = timezone.now()
    state.connection_recorded(
        authentication=auth, token_response=None, reauthorized=True, message="Re-authenticated."
    )
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.ACTIVE and stored.refresh_token_expires_at is None
    assert stored.notified_status == ""  # the expiring episode is over
    assert AuthEvent.objects.filter(authentication=auth, kind="reauthorized").exists()


def test_periodic_evaluation_picks_up_a_service_moved_to_test_status(tenant):
    service = make_service()
    auth = make_auth(tenant, service, consented_at=timezone.now() - 5 * DAY, scopes=["drive"])
    assert auth.status == AuthStatus.ACTIVE
    service.umbrella_status = "test"
    service.save()
    assert expiry_evaluate_all() == 1
    stored = Authentication.objects.get(pk=auth.pk)
    assert stored.status == AuthStatus.EXPIRING
    assert stored.refresh_token_expires_at == auth.consented_at + timedelta(days=7)
