"""The admin is for superusers and for organization owners, who see only their organizations."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.urls import path, reverse, reverse_lazy
from django.utils.html import format_html

from lifecycle.admin import dashboard_view, home_context
from workspaces.selectors import may_use_admin


class OwnerAuthenticationForm(AdminAuthenticationForm):
    """Django's admin login requires is_staff; here organization owners may log in too."""

    def confirm_login_allowed(self, user):
        if not may_use_admin(user):
            # Right password, wrong door: say where members sign in.
            raise ValidationError(
                format_html(
                    "This login is for organization owners and superusers. Members sign in on "
                    'the <a href="{}">member sign-in page</a>.',
                    reverse("account:sign-in"),
                ),
                code="not_an_owner",
            )


class PlatformAdminSite(admin.AdminSite):
    site_header = "Connect platform"
    site_title = "Connect platform admin"
    login_form = OwnerAuthenticationForm
    # "View site" leads to the member pages (the site's root only redirects there).
    site_url = reverse_lazy("account:home")
    # The model list is on the home page and every page has breadcrumbs: the sidebar's 300 px
    # go to the lists, so their columns fit a 1280 px screen.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        # The home page: the organization's health and first steps (lifecycle/admin.py).
        return super().index(request, {**home_context(request), **(extra_context or {})})

    def has_permission(self, request):
        return may_use_admin(request.user)

    def get_urls(self):
        dashboard = path(
            "lifecycle/dashboard/", self.admin_view(dashboard_view), name="lifecycle_dashboard"
        )
        return [dashboard, *super().get_urls()]
