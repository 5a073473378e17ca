"""Events API: event logs (per organization, per auth), webhooks (the signing secret is
write-only) and their delivery logs. Thin views over events/selectors.py and events/webhooks.py."""

from rest_framework import mixins, status
from rest_framework.response import Response

from auths.selectors import authentication_visible
from events import webhooks
from events.selectors import (
    delivery_list_for_actor,
    event_list_for_actor,
    webhook_get,
    webhook_list_for_actor,
)
from events.serializers import AuthEventSerializer, WebhookDeliverySerializer, WebhookSerializer
from infrastructure.errors import NotFound
from infrastructure.pagination import NewestFirstCursorPagination
from workspaces.scoping import OrganizationScopedViewSet


class OrganizationEventViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """The organization's lifecycle event log (newest first, by cursor); `?kind=` filters."""

    serializer_class = AuthEventSerializer
    pagination_class = NewestFirstCursorPagination

    def scoped_queryset(self, actor):
        events = event_list_for_actor(actor=actor)
        kind = self.request.query_params.get("kind")
        return events.filter(kind=kind) if kind else events


class AuthenticationEventViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """One auth's event log (newest first, by cursor)."""

    serializer_class = AuthEventSerializer
    pagination_class = NewestFirstCursorPagination

    def scoped_queryset(self, actor):
        authentication_id = self.kwargs["authentication_pk"]
        if not authentication_visible(actor=actor, authentication_id=authentication_id):
            raise NotFound("Authentication not found.")
        return event_list_for_actor(actor=actor, authentication_id=authentication_id)


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """Organization webhooks for auth events; owners and admins manage them."""

    serializer_class = WebhookSerializer

    def scoped_queryset(self, actor):
        return webhook_list_for_actor(actor=actor)

    def create(self, request, *args, **kwargs):
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_create(actor=self.actor, **data.validated_data)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        data = WebhookSerializer(webhook, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_update(actor=self.actor, webhook=webhook, **data.validated_data)
        return Response(WebhookSerializer(webhook).data)

    def destroy(self, request, *args, **kwargs):
        webhooks.webhook_delete(actor=self.actor, webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """Delivery log of one webhook (newest first)."""

    serializer_class = WebhookDeliverySerializer

    def scoped_queryset(self, actor):
        webhook = webhook_get(actor=actor, webhook_id=self.kwargs["webhook_pk"])
        return delivery_list_for_actor(actor=actor, webhook_id=webhook.pk)
