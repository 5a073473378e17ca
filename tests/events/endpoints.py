"""Lifecycle API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

from tests.lifecycle.factories import make_auth, make_webhook


def _org(tenant):
    return {"organization_slug": tenant.organization.slug}


ENDPOINTS = {
    "auth-event-list": (["get"], _org),
    "authentication-event-list": (
        ["get"],
        lambda t: {**_org(t), "authentication_pk": make_auth(t).pk},
    ),
    "webhook-list": (["get", "post"], _org),
    "webhook-detail": (["get", "patch", "delete"], lambda t: {**_org(t), "pk": make_webhook(t).pk}),
    "webhook-delivery-list": (["get"], lambda t: {**_org(t), "webhook_pk": make_webhook(t).pk}),
}
