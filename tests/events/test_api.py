"""Lifecycle API: event logs per organization and per auth, webhooks (secret write-only), deliveries."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import AuthEvent, Webhook, WebhookDelivery
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


def _events(auth, count):
    return AuthEvent.objects.bulk_create(
        AuthEvent(
            organization_id=auth.organization_id,
            authentication=auth,
            authentication_ref=auth.pk,
            authentication_name=auth.name,
            service_id=auth.service_id,
            kind="refreshed",
            message=f"event {number}",
        )
        for number in range(count)
    )


@pytest.mark.parametrize("log", ["auth-event-list", "authentication-event-list"])
def test_event_logs_page_by_cursor_newest_first_without_a_count(tenant, api, log):
    auth = make_auth(tenant)
    created = _events(auth, 7)
    address = url(
        log, tenant, **({"authentication_pk": auth.pk} if "authentication" in log else {})
    )
    client = api.as_user(tenant.owner)
    seen, page = [], client.get(address, {"limit": 3}).json()
    assert set(page) == {"next", "previous", "results"}  # no count: no COUNT(*) over history
    while True:
        seen += [event["id"] for event in page["results"]]
        if not page["next"]:
            break
        assert "cursor=" in page["next"] and "offset" not in page["next"]
        page = client.get(page["next"]).json()
    newest_first = sorted(created, key=lambda e: (e.created_at, e.id), reverse=True)
    assert seen == [event.id for event in newest_first]


def test_a_page_of_the_event_log_counts_nothing(tenant, api):
    auth = make_auth(tenant)
    _events(auth, 3)
    client = api.as_user(tenant.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("authentication-event-list", tenant, authentication_pk=auth.pk))
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_an_event_log_page_reads_only_the_service_name(tenant, api):
    auth = make_auth(tenant)
    _events(auth, 2)
    client = api.as_user(tenant.owner)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url("auth-event-list", tenant)).json()
    assert body["results"][0]["service_name"] == auth.service.name
    page = next(q["sql"] for q in queries if 'FROM "auths_authevent"' in q["sql"])
    service_columns = [c for c in page.split(" FROM ")[0].split(", ") if '"services_service"' in c]
    assert service_columns == ['"services_service"."id"', '"services_service"."name"']


def test_an_event_log_refuses_an_offset_pointing_to_the_cursor(tenant, api):
    response = api.as_user(tenant.owner).get(url("auth-event-list", tenant), {"offset": 50})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["offset"]
    assert "next" in response.json()["error"]["message"]


@pytest.mark.parametrize("position", ["not-a-date", "2026-13-45 99:00:00", "1\x00"])
def test_a_cursor_made_by_hand_is_refused_cleanly(tenant, api, position):
    cursor = base64.b64encode(f"o=0&p={position}".encode()).decode()
    response = api.as_user(tenant.owner).get(url("auth-event-list", tenant), {"cursor": cursor})
    assert response.status_code == 404
    assert "Invalid cursor" in response.json()["error"]["message"]


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
