from django.urls import path

from services import api

ORG = "organizations/<slug:organization_slug>"

urlpatterns = [
    path(
        f"{ORG}/catalog/",
        api.CatalogViewSet.as_view({"get": "list"}),
        name="service-catalog-list",
    ),
    path(
        f"{ORG}/catalog/<slug:connector_slug>/",
        api.CatalogViewSet.as_view({"get": "retrieve"}),
        name="service-catalog-detail",
    ),
    path(
        f"{ORG}/services/",
        api.ServicePickerViewSet.as_view({"get": "list"}),
        name="service-list",
    ),
    path(
        f"{ORG}/services/<uuid:pk>/",
        api.ServicePickerViewSet.as_view({"get": "retrieve"}),
        name="service-detail",
    ),
    path(
        f"{ORG}/custom-services/",
        api.CustomServiceViewSet.as_view({"get": "list", "post": "create"}),
        name="custom-service-list",
    ),
    path(
        f"{ORG}/custom-services/<uuid:pk>/",
        api.CustomServiceViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="custom-service-detail",
    ),
    path(
        f"{ORG}/custom-services/<uuid:pk>/transfer-ownership/",
        api.CustomServiceViewSet.as_view({"post": "transfer_ownership"}),
        name="custom-service-transfer-ownership",
    ),
]
