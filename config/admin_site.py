"""The admin is for superusers and for organization owners, who see only their organizations."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from workspaces.models import Membership, OrgRole


def owned_organization_ids(user) -> list:
    if not (user.is_active and user.is_authenticated):
        return []
    return list(
        Membership.objects.filter(user=user, role=OrgRole.OWNER, is_active=True).values_list(
            "organization_id", flat=True
        )
    )


def may_use_admin(user) -> bool:
    return user.is_active and (user.is_superuser or bool(owned_organization_ids(user)))


class OwnerAuthenticationForm(AdminAuthenticationForm):
    """Django's admin login requires is_staff; here organization owners may log in too."""

    def confirm_login_allowed(self, user):
        if not may_use_admin(user):
            raise ValidationError(
                "This login is for organization owners and superusers; use the API otherwise.",
                code="invalid_login",
            )


class PlatformAdminSite(admin.AdminSite):
    site_header = "Connect platform"
    site_title = "Connect platform admin"
    login_form = OwnerAuthenticationForm

    def has_permission(self, request):
        return may_use_admin(request.user)
