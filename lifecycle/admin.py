"""The lifecycle dashboard in the admin (/admin/lifecycle/dashboard/, routed by
config/admin_site.py), for superusers and organization owners (each owner sees their
organizations only): auths by status, auths whose refresh token dies in the next 14 days, flagged
services with their evidence, recent events."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from lifecycle.dashboard import lifecycle_dashboard, organizations_for_dashboard


def dashboard_view(request):
    organizations = organizations_for_dashboard(request.user)
    if not organizations:
        raise PermissionDenied
    chosen = request.GET.get("organization")
    organization = next((o for o in organizations if str(o.pk) == chosen), organizations[0])
    context = {
        **admin.site.each_context(request),
        "title": f"Token lifecycle: {organization.name}",
        "organizations": organizations,
        "organization": organization,
        **lifecycle_dashboard(organization=organization, now=timezone.now()),
    }
    return TemplateResponse(request, "admin/lifecycle/dashboard.html", context)
