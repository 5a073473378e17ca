"""The lifecycle of end users' auths tells the customer, not the end user: events and webhook
payloads name the end user (by the customer's id), the instances using the auth and where to send
the end user to re-authenticate; nobody emails an end user, and the org owner still hears. Members'
payloads are as they were, and members never read end users' events."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from auths.models import Authentication
from auths.tokens import RefreshRejected
from events.models import EmailDelivery
from events.webhooks import event_payload
from lifecycle import state
from tests.embedded.builders import (
    backend,
    crm_service,
    embedded_workspace,
    end_user_auth,
    make_end_user,
)
from tests.embedded.test_end_users import instance_of
from tests.events.helpers import InlineBroker, deliver_pending_emails
from tests.events.webhook_receiver import WebhookReceiver
from tests.lifecycle.factories import make_auth, make_webhook
from workspaces.models import WorkspaceMembership

pytestmark = pytest.mark.django_db

REFUSED = RefreshRejected("invalid_grant", "Token has been expired or revoked.")


def dialog_path(tenant, auth) -> str:
    return f"/embedded/{tenant.organization.slug}/auth/{auth.service_id}/?authentication={auth.pk}"


def reject(auth):
    """The provider refuses the auth's refresh: needs_reauth, emailed and sent to webhooks."""
    auth = Authentication.objects.select_related("service", "organization").get(pk=auth.pk)
    state.refresh_rejected(authentication=auth, error=REFUSED, now=timezone.now())


@pytest.fixture
def receiver(settings):
    settings.EGRESS_ALLOW_INSECURE_LOCAL = True
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def end_users_auth(embedded_tenant, server):
    """An end user's auth (made through the real flow), bound to one instance."""
    service = crm_service(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant, "customer-42")
    end_user.metadata = {"email": "pat@customer.example"}  # the customer's, never used by us
    end_user.save()
    auth = end_user_auth(end_user, service, server, scopes=["read"])
    instance_id = instance_of(embedded_tenant, service, end_user, auth)
    return end_user, auth, instance_id


def test_a_webhook_for_an_end_users_auth_names_the_end_user_instances_and_reauthentication(
    embedded_tenant, end_users_auth, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    end_user, auth, instance_id = end_users_auth
    InlineBroker(monkeypatch)
    make_webhook(embedded_tenant, url=receiver.url)

    with django_capture_on_commit_callbacks(execute=True):
        reject(auth)

    [payload] = receiver.payloads()
    assert payload["type"] == "auth.needs_reauth"
    assert payload["authentication"]["id"] == str(auth.pk)
    assert payload["end_user"] == {"id": str(end_user.pk), "external_user_id": "customer-42"}
    assert payload["instance_ids"] == [instance_id]
    # The auth-only dialog (pages/wizard_urls.py), renewing this auth of that service; the
    # backend adds &code=<a fresh authorization code>.
    assert payload["reauthentication"] == {
        "authentication_id": str(auth.pk),
        "url": dialog_path(embedded_tenant, auth),
    }


def test_a_members_payload_is_unchanged(tenant):
    auth = make_auth(tenant)
    reject(auth)
    payload = event_payload(auth.events.get(kind="needs_reauth"))
    assert set(payload) == {
        "id",
        "type",
        "created_at",
        "organization",
        "service",
        "authentication",
        "message",
        "data",
    }


def test_the_event_log_shows_the_end_user_to_the_backend_and_hides_it_from_members(
    embedded_tenant, end_users_auth, api
):
    end_user, auth, instance_id = end_users_auth
    reject(auth)
    events_url = reverse(
        "auth-event-list", kwargs={"organization_slug": embedded_tenant.organization.slug}
    )

    listed = backend(embedded_tenant).get(events_url, {"kind": "needs_reauth"}).json()

    [event] = listed["results"]
    assert event["end_user"] == {"id": str(end_user.pk), "external_user_id": "customer-42"}
    assert event["instance_ids"] == [instance_id]
    assert event["reauthentication"]["url"] == dialog_path(embedded_tenant, auth)
    # A member of the embedded workspace sees neither the end user's auth nor its events.
    WorkspaceMembership.objects.create(
        workspace=embedded_workspace(embedded_tenant),
        membership=embedded_tenant.membership(embedded_tenant.contributor),
    )
    member = api.as_user(embedded_tenant.contributor).get(events_url).json()
    assert member["results"] == []


def test_no_email_goes_to_an_end_user_and_the_org_owner_still_hears(
    embedded_tenant, end_users_auth, django_capture_on_commit_callbacks
):
    _, auth, _ = end_users_auth

    with django_capture_on_commit_callbacks(execute=True):
        reject(auth)

    assert deliver_pending_emails() == ["delivered"]
    [email] = mail.outbox
    assert email.to == [embedded_tenant.owner.email]
    assert "pat@customer.example" not in email.to + email.cc + email.bcc
    assert EmailDelivery.objects.get().recipients == [embedded_tenant.owner.email]
