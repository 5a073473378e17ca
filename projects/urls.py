"""The projects API, under organizations/<slug>/."""

from django.urls import path

from projects import api

ORG = "organizations/<slug:organization_slug>"
project = api.ProjectViewSet.as_view

urlpatterns = [
    path(f"{ORG}/projects/", project({"get": "list", "post": "create"}), name="project-list"),
    path(
        f"{ORG}/projects/<uuid:pk>/",
        project({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="project-detail",
    ),
]
