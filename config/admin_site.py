"""The admin is for superusers and for organization owners, who see only their organizations."""

from django.contrib import admin

from workspaces.models import Membership, OrgRole


def owned_organization_ids(user) -> list:
    if not (user.is_active and user.is_authenticated):
        return []
    return list(
        Membership.objects.filter(user=user, role=OrgRole.OWNER, is_active=True).values_list(
            "organization_id", flat=True
        )
    )


class PlatformAdminSite(admin.AdminSite):
    site_header = "Connect platform"
    site_title = "Connect platform admin"

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_superuser or bool(owned_organization_ids(user)))
