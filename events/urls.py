from django.urls import path

from events import api

ORG = "organizations/<slug:organization_slug>"

urlpatterns = [
    path(
        f"{ORG}/auth-events/",
        api.OrganizationEventViewSet.as_view({"get": "list"}),
        name="auth-event-list",
    ),
    path(
        f"{ORG}/authentications/<uuid:authentication_pk>/events/",
        api.AuthenticationEventViewSet.as_view({"get": "list"}),
        name="authentication-event-list",
    ),
    path(
        f"{ORG}/webhooks/",
        api.WebhookViewSet.as_view({"get": "list", "post": "create"}),
        name="webhook-list",
    ),
    path(
        f"{ORG}/webhooks/<int:pk>/",
        api.WebhookViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="webhook-detail",
    ),
    path(
        f"{ORG}/webhooks/<int:webhook_pk>/deliveries/",
        api.WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="webhook-delivery-list",
    ),
]
