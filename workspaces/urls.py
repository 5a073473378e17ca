from django.urls import path

from workspaces import api

ORG = "organizations/<slug:organization_slug>"

urlpatterns = [
    path(
        "me/api-keys/",
        api.UserApiKeyViewSet.as_view({"get": "list", "post": "create"}),
        name="user-api-key-list",
    ),
    path(
        "me/api-keys/<str:prefix>/",
        api.UserApiKeyViewSet.as_view({"delete": "destroy"}),
        name="user-api-key-detail",
    ),
    path(
        f"{ORG}/api-keys/",
        api.OrganizationApiKeyViewSet.as_view({"get": "list", "post": "create"}),
        name="organization-api-key-list",
    ),
    path(
        f"{ORG}/api-keys/<str:prefix>/",
        api.OrganizationApiKeyViewSet.as_view({"delete": "destroy"}),
        name="organization-api-key-detail",
    ),
    path("organizations/", api.OrganizationListView.as_view(), name="organization-list"),
    path(
        f"{ORG}/",
        api.OrganizationViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="organization-detail",
    ),
    path(
        f"{ORG}/transfer-ownership/",
        api.OrganizationViewSet.as_view({"post": "transfer_ownership"}),
        name="organization-transfer-ownership",
    ),
    path(
        f"{ORG}/members/",
        api.MemberViewSet.as_view({"get": "list", "post": "create"}),
        name="member-list",
    ),
    path(
        f"{ORG}/members/<int:pk>/",
        api.MemberViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="member-detail",
    ),
    path(
        f"{ORG}/members/<int:pk>/deactivate/",
        api.MemberViewSet.as_view({"post": "deactivate"}),
        name="member-deactivate",
    ),
    path(
        f"{ORG}/workspaces/",
        api.WorkspaceViewSet.as_view({"get": "list", "post": "create"}),
        name="workspace-list",
    ),
    path(
        f"{ORG}/workspaces/<uuid:pk>/",
        api.WorkspaceViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="workspace-detail",
    ),
    path(
        f"{ORG}/workspaces/<uuid:workspace_pk>/members/",
        api.WorkspaceMemberViewSet.as_view({"get": "list", "post": "create"}),
        name="workspace-member-list",
    ),
    path(
        f"{ORG}/workspaces/<uuid:workspace_pk>/members/<int:pk>/",
        api.WorkspaceMemberViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="workspace-member-detail",
    ),
]
