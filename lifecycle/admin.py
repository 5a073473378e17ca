"""The admin's home page (the index, routed by config/admin_site.py) and the lifecycle dashboard
(/admin/lifecycle/dashboard/), for superusers and organization owners (each owner sees their
organizations only). What they show is read by lifecycle/dashboard.py; this module only turns its
`filters` into links to the admin's lists and lays out the chart."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from lifecycle.dashboard import (
    lifecycle_dashboard,
    organization_chosen,
    organization_home,
    organizations_for_dashboard,
)
from pages.admin_display import AUTHS, DELIVERIES, changelist

# The chart's drawing box, in SVG units: the plot area sits right of the y axis, above the x axis.
PLOT = {"left": 44, "top": 12, "bar": 34, "gap": 8, "height": 140, "bottom": 44}


def _linked(rows: list[dict], name: str) -> list[dict]:
    return [{**row, "url": changelist(name, row["filters"])} for row in rows]


def _chart_layout(chart: dict) -> dict:
    """Bars, ticks and labels in SVG coordinates (presentation only)."""
    p, top = PLOT, chart["top"]
    base = p["top"] + p["height"]

    def y(value):
        return base - round(p["height"] * value / top)

    bars = []
    for index, day in enumerate(chart["days"]):
        x = p["left"] + p["gap"] + index * (p["bar"] + p["gap"])
        bars.append(
            {
                **day,
                "url": changelist(AUTHS, day["filters"]),
                "x": x,
                "y": y(day["count"]),
                "height": base - y(day["count"]),
                "width": p["bar"],
                "middle": x + p["bar"] // 2,
            }
        )
    width = p["left"] + p["gap"] + len(bars) * (p["bar"] + p["gap"])
    return {
        **chart,
        "bars": bars,
        "tick_marks": [{"value": t, "y": y(t)} for t in chart["ticks"]],
        "width": width,
        "height": base + p["bottom"],
        "base": base,
        "left": p["left"],
        "label_y": base + 16,
        "title_y": base + 38,
        "middle_x": (p["left"] + width) // 2,
        "middle_y": p["top"] + p["height"] // 2,
    }


def _health(data: dict) -> dict:
    return {
        **data,
        "by_status": _linked(data["by_status"], AUTHS),
        "flagged": _linked(data["flagged"], AUTHS),
        "failing_webhooks": _linked(data["failing_webhooks"], DELIVERIES),
    }


def home_context(request) -> dict:
    """What the admin index shows above the list of models: the chosen organization's health and
    its first steps. Empty for a superuser of a platform with no organization yet."""
    organizations = organizations_for_dashboard(request.user)
    organization = organization_chosen(
        organizations=organizations, chosen=request.GET.get("organization")
    )
    if organization is None:
        return {}
    now = timezone.localtime(timezone.now())
    return {
        "organizations": organizations,
        "organization": organization,
        "home": _health(organization_home(organization=organization, now=now)),
        "auths_url": changelist(AUTHS, {"organization": organization.pk}),
    }


def dashboard_view(request):
    organizations = organizations_for_dashboard(request.user)
    organization = organization_chosen(
        organizations=organizations, chosen=request.GET.get("organization")
    )
    if organization is None:
        raise PermissionDenied
    data = _health(
        lifecycle_dashboard(organization=organization, now=timezone.localtime(timezone.now()))
    )
    context = {
        **admin.site.each_context(request),
        "title": f"Token lifecycle: {organization.name}",
        "organizations": organizations,
        "organization": organization,
        **data,
        "chart": _chart_layout(data["chart"]),
    }
    return TemplateResponse(request, "admin/lifecycle/dashboard.html", context)
