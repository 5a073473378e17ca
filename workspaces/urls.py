from django.urls import path

from workspaces import api
from workspaces.scoping import dangerously_unscoped

ORG = "organizations/<slug:organization_slug>"
OWN_KEYS = "scoped to the signed-in person: their own API keys (user_api_key_list_for_user)"
OWN_ORGANIZATIONS = (
    "scoped to the credential: the organizations its person belongs to, or the organization of an "
    "organization API key"
)

urlpatterns = [
    path(
        "me/api-keys/",
        dangerously_unscoped(
            api.UserApiKeyViewSet.as_view({"get": "list", "post": "create"}), why=OWN_KEYS
        ),
        name="user-api-key-list",
    ),
    path(
        "me/api-keys/<str:prefix>/",
        dangerously_unscoped(api.UserApiKeyViewSet.as_view({"delete": "destroy"}), why=OWN_KEYS),
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
    path(
        "organizations/",
        dangerously_unscoped(api.OrganizationListView.as_view(), why=OWN_ORGANIZATIONS),
        name="organization-list",
    ),
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
