"""infrastructure/serializers.py FastRepresentation renders exactly what DRF's own
Serializer.to_representation renders, for every read serializer that uses it, on objects with
values and with blanks (None, absent related rows, end users' event context)."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from connections.serializers import AuthenticationSerializer
from events.models import AuthEvent
from events.recording import event_record, service_event_record
from events.serializers import AuthEventSerializer
from infrastructure.serializers import FastRepresentation
from services.models import Service
from services.serializers import ServicePickerSerializer, ServiceSerializer
from tests.connections.helpers import custom_service
from tests.lifecycle.factories import make_auth, make_service

pytestmark = pytest.mark.django_db


def both_ways(serializer_class, instances, **context):
    fast = serializer_class(instances, many=True, context=context).data
    drf = [
        serializers.Serializer.to_representation(serializer_class(context=context), instance)
        for instance in instances
    ]
    assert issubclass(serializer_class, FastRepresentation)
    assert [dict(row) for row in fast] == drf
    return fast


def test_authentications(tenant):
    plain = make_auth(tenant)
    full = make_auth(
        tenant,
        service=custom_service(tenant),
        refresh_token="r",
        flags=[{"code": "x", "message": "m", "since": "2026-01-01"}],
        parameters={"region": "eu"},
        scopes=["read"],
        last_used_at=None,
    )
    orphan = make_auth(tenant, owner=tenant.owner)
    orphan.owner = None
    orphan.save()
    rows = both_ways(AuthenticationSerializer, [plain, full, orphan])
    assert rows[2]["owner"] is None and rows[2]["owner_email"] is None


def test_events_with_and_without_an_auth(tenant):
    auth = make_auth(tenant)
    event_record(authentication=auth, kind="refreshed", data={"n": 1})
    service_event_record(
        organization_id=tenant.organization.pk, service=make_service(), kind="service_flagged"
    )
    events = list(AuthEvent.objects.select_related("service"))
    events.append(
        AuthEvent(
            organization=tenant.organization,
            kind="end_user_deleted",
            context={"end_user": {"id": str(auth.pk), "external_user_id": "e"}},
        )
    )
    rows = both_ways(AuthEventSerializer, events)
    assert "end_user" not in rows[0] and rows[2]["end_user"]["external_user_id"] == "e"


def test_services_full_and_picker(tenant):
    request = APIRequestFactory().get("/")
    services = [custom_service(tenant), *Service.objects.filter(source="connector")[:5]]
    actor = tenant.actor(tenant.owner)
    both_ways(ServiceSerializer, services, request=request, actor=actor)
    both_ways(ServicePickerSerializer, services, request=request, actor=actor)
