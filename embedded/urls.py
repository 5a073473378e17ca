"""The embedded API, under organizations/<slug>/."""

from django.urls import path

from embedded import api, views
from workspaces.scoping import dangerously_unscoped

ORG = "organizations/<slug:organization_slug>"
solution = api.SolutionViewSet.as_view
instance = api.InstanceViewSet.as_view
end_user = api.EndUserViewSet.as_view

urlpatterns = [
    path(f"{ORG}/solutions/", solution({"get": "list", "post": "create"}), name="solution-list"),
    path(
        f"{ORG}/solutions/<uuid:pk>/",
        solution({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="solution-detail",
    ),
    path(
        f"{ORG}/solutions/<uuid:pk>/publish/",
        solution({"post": "publish"}),
        name="solution-publish",
    ),
    path(
        f"{ORG}/solutions/<uuid:pk>/bundle/",
        solution({"get": "bundle"}),
        name="solution-bundle",
    ),
    path(
        f"{ORG}/solutions/<uuid:pk>/releases/",
        solution({"get": "releases"}),
        name="solution-releases",
    ),
    path(f"{ORG}/instances/", instance({"get": "list", "post": "create"}), name="instance-list"),
    path(
        f"{ORG}/instances/<uuid:pk>/",
        instance({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="instance-detail",
    ),
    path(
        f"{ORG}/instances/<uuid:pk>/enable/", instance({"post": "enable"}), name="instance-enable"
    ),
    path(
        f"{ORG}/instances/<uuid:pk>/disable/",
        instance({"post": "disable"}),
        name="instance-disable",
    ),
    path(
        f"{ORG}/instances/<uuid:pk>/request/",
        instance({"post": "call_api"}),
        name="instance-request",
    ),
    path(f"{ORG}/end-users/", end_user({"get": "list", "post": "create"}), name="end-user-list"),
    path(
        f"{ORG}/end-users/<uuid:pk>/",
        end_user({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="end-user-detail",
    ),
    path(
        f"{ORG}/end-users/<uuid:pk>/authentications/",
        end_user({"get": "authentications", "post": "import_authentication"}),
        name="end-user-authentications",
    ),
]

end_user_codes = api.EndUserCodeViewSet.as_view
urlpatterns += [
    path(
        f"{ORG}/end-users/<uuid:pk>/authorization-codes/",
        end_user_codes({"post": "authorization_code"}),
        name="end-user-authorization-codes",
    ),
    path(
        f"{ORG}/end-users/<uuid:pk>/connect-links/",
        end_user_codes({"post": "connect_link"}),
        name="end-user-connect-links",
    ),
]

# Browser routes outside the API (config/urls.py serves them at the root): a connect link is
# opened by an end user, who never signs in; the one-time code in its URL is the only key.
CONNECT_LINK = "the one-time connect code in its URL: it names one end user of one organization"
browser_urlpatterns = [
    path(
        "embedded/connect/<str:code>/",
        dangerously_unscoped(views.connect_link_view, why=CONNECT_LINK),
        name="embedded-connect",
    ),
]
