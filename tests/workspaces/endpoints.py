"""Workspaces API endpoints for the isolation matrix in tests/test_tenancy.py:
url name -> (methods, builder). A builder takes the victim Tenant and returns the URL kwargs."""

from workspaces.models import OrganizationAPIKey
from workspaces.shared_workspaces import workspace_create, workspace_member_add


def _shared_workspace(t):
    return workspace_create(actor=t.actor(t.owner), name="Shared")


def _workspace_member(t):
    workspace = _shared_workspace(t)
    return workspace_member_add(
        actor=t.actor(t.owner), workspace=workspace, membership=t.membership(t.contributor)
    )


def _org(t):
    return {"organization_slug": t.organization.slug}


# name -> (methods, kwargs builder). Builders take the victim tenant and return URL kwargs.
def _org_api_key(t):
    key, _ = OrganizationAPIKey.objects.create_key(name="k", organization=t.organization)
    return {**_org(t), "prefix": key.prefix}


ENDPOINTS = {
    "organization-api-key-list": (["get", "post"], _org),
    "organization-api-key-detail": (["delete"], _org_api_key),
    "organization-detail": (["get", "patch"], _org),
    "organization-transfer-ownership": (["post"], _org),
    "member-list": (["get", "post"], _org),
    "member-detail": (["get", "patch"], lambda t: {**_org(t), "pk": t.membership(t.viewer).pk}),
    "member-deactivate": (["post"], lambda t: {**_org(t), "pk": t.membership(t.viewer).pk}),
    "workspace-list": (["get", "post"], _org),
    "workspace-detail": (
        ["get", "patch", "delete"],
        lambda t: {**_org(t), "pk": _shared_workspace(t).pk},
    ),
    "workspace-member-list": (
        ["get", "post"],
        lambda t: {**_org(t), "workspace_pk": _shared_workspace(t).pk},
    ),
    "workspace-member-detail": (
        ["get", "patch", "delete"],
        lambda t: (lambda row: {**_org(t), "workspace_pk": row.workspace_id, "pk": row.pk})(
            _workspace_member(t)
        ),
    ),
}
