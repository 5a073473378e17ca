"""This app's API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

from tests.services.builders import make_custom_service


def _org(t):
    return {"organization_slug": t.organization.slug}


def _custom(t):
    return {**_org(t), "pk": make_custom_service(t, name="Victim service").pk}


ENDPOINTS = {
    "service-catalog-list": (["get"], _org),
    "service-catalog-detail": (["get"], lambda t: {**_org(t), "connector_slug": "google"}),
    "service-list": (["get"], _org),
    "service-detail": (["get"], _custom),
    "custom-service-list": (["get", "post"], _org),
    "custom-service-detail": (["get", "patch", "delete"], _custom),
    "custom-service-transfer-ownership": (["post"], _custom),
}
