"""Lifecycle API: event logs per organization and per auth, webhooks (secret write-only), deliveries."""

import pytest
from django.urls import reverse

from events.models import Webhook, WebhookDelivery
from events.recording import event_record, service_event_record
from tests.lifecycle.factories import make_auth, make_service, make_webhook
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def test_auth_event_log_is_newest_first(tenant, api):
    auth = make_auth(tenant)
    event_record(authentication=auth, kind="created")
    event_record(authentication=auth, kind="refreshed")
    response = api.as_user(tenant.viewer).get(
        url("authentication-event-list", tenant, authentication_pk=auth.pk)
    )
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["results"]] == ["refreshed", "created"]


def test_members_do_not_see_events_of_auths_in_others_personal_workspaces(tenant, api):
    personal = Workspace.objects.get(personal_owner__user=tenant.admin)
    hidden = make_auth(tenant, owner=tenant.admin, workspace=personal)
    event_record(authentication=hidden, kind="created")
    visible = make_auth(tenant)
    event_record(authentication=visible, kind="created")
    service_event_record(
        organization_id=tenant.organization.pk, service=make_service(), kind="service_flagged"
    )
    viewer = api.as_user(tenant.viewer)
    names = {
        e["authentication_name"]
        for e in viewer.get(url("auth-event-list", tenant)).json()["results"]
    }
    assert names == {visible.name}
    response = viewer.get(url("authentication-event-list", tenant, authentication_pk=hidden.pk))
    assert response.status_code == 404
    owner_kinds = [
        e["kind"]
        for e in api.as_user(tenant.owner).get(url("auth-event-list", tenant)).json()["results"]
    ]
    assert sorted(owner_kinds) == ["created", "created", "service_flagged"]


def test_event_log_filters_by_kind(tenant, api):
    auth = make_auth(tenant)
    event_record(authentication=auth, kind="created")
    event_record(authentication=auth, kind="needs_reauth")
    response = api.as_user(tenant.owner).get(
        url("auth-event-list", tenant), {"kind": "needs_reauth"}
    )
    assert [e["kind"] for e in response.json()["results"]] == ["needs_reauth"]


def test_admin_creates_webhook_and_secret_is_never_returned(tenant, api):
    client = api.as_user(tenant.admin)
    response = client.post(
        url("webhook-list", tenant),
        {
            "url": "https://hooks.example/in",
            "signing_secret": "a-long-random-secret-value",
            "events": ["needs_reauth", "expiring"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "signing_secret" not in body and body["has_signing_secret"] is True
    assert "a-long-random-secret-value" not in response.content.decode()
    webhook = Webhook.objects.get(pk=body["id"])
    assert webhook.signing_secret.reveal() == "a-long-random-secret-value"
    listed = client.get(url("webhook-list", tenant)).content.decode()
    assert "a-long-random-secret-value" not in listed


def test_webhook_validation_names_the_field(tenant, api):
    client = api.as_user(tenant.owner)
    response = client.post(
        url("webhook-list", tenant),
        {"url": "http://hooks.example/in", "signing_secret": "a-long-random-secret-value"},
        format="json",
    )
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]
    response = client.post(
        url("webhook-list", tenant),
        {"url": "https://hooks.example/in", "signing_secret": "short"},
        format="json",
    )
    assert "signing_secret" in response.json()["error"]["fields"]


def test_contributor_cannot_manage_webhooks(tenant, api):
    client = api.as_user(tenant.contributor)
    response = client.post(
        url("webhook-list", tenant),
        {"url": "https://hooks.example/in", "signing_secret": "a-long-random-secret-value"},
        format="json",
    )
    assert response.status_code == 403
    make_webhook(tenant)
    assert client.get(url("webhook-list", tenant)).json()["results"] == []


def test_owner_updates_and_deletes_a_webhook(tenant, api):
    webhook = make_webhook(tenant)
    client = api.as_user(tenant.owner)
    response = client.patch(
        url("webhook-detail", tenant, pk=webhook.pk),
        {"is_active": False, "signing_secret": "another-long-secret-value"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    webhook.refresh_from_db()
    assert webhook.signing_secret.reveal() == "another-long-secret-value"
    assert client.delete(url("webhook-detail", tenant, pk=webhook.pk)).status_code == 204
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_delivery_log(tenant, api):
    webhook = make_webhook(tenant)
    event = event_record(authentication=make_auth(tenant), kind="needs_reauth")
    assert WebhookDelivery.objects.filter(webhook=webhook, event=event).exists()
    response = api.as_user(tenant.owner).get(
        url("webhook-delivery-list", tenant, webhook_pk=webhook.pk)
    )
    rows = response.json()["results"]
    assert [(r["event_kind"], r["status"], r["attempts"]) for r in rows] == [
        ("needs_reauth", "pending", 0)
    ]
