"""The projects API, under organizations/<slug>/."""

from django.urls import path

from projects import api

ORG = "organizations/<slug:organization_slug>"
project = api.ProjectViewSet.as_view
bundle = api.BundleImportViewSet.as_view

urlpatterns = [
    path(f"{ORG}/projects/", project({"get": "list", "post": "create"}), name="project-list"),
    path(
        f"{ORG}/projects/<uuid:pk>/",
        project({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="project-detail",
    ),
    path(f"{ORG}/projects/<uuid:pk>/bundle/", project({"get": "bundle"}), name="project-bundle"),
    path(
        f"{ORG}/projects/<uuid:pk>/workflows/<int:index>/bundle/",
        project({"get": "workflow_bundle"}),
        name="project-workflow-bundle",
    ),
    path(
        f"{ORG}/projects/<uuid:pk>/versions/", project({"get": "versions"}), name="project-versions"
    ),
    path(
        f"{ORG}/projects/<uuid:pk>/rollback/",
        project({"post": "rollback"}),
        name="project-rollback",
    ),
    path(f"{ORG}/bundles/plan/", bundle({"post": "plan"}), name="bundle-plan"),
    path(f"{ORG}/bundles/import/", bundle({"post": "import_bundle"}), name="bundle-import"),
]
