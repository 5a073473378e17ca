"""What every page template gets (config/settings/base.py: TEMPLATES context_processors)."""

from pages.navigation import nav_links


def navigation(request) -> dict:
    """`navigation`: the signed-in member's links (pages/navigation.py); empty for everyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    return {"navigation": nav_links(request.path)}
