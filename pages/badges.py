"""Status badges: a word and a symbol, coloured, so the status reads without colour.

`{% status_badge value %}` (pages/templatetags/page_tags.py) looks the value up here; pages with
statuses of their own add them to BADGES. Tones: ok, warn, bad, neutral (pages.css: .badge--*).
"""

from auths.models import AuthStatus

SYMBOLS = {"ok": "✓", "warn": "!", "bad": "✕", "neutral": "•"}

_AUTH_TONES = {
    AuthStatus.ACTIVE: "ok",
    AuthStatus.EXPIRING: "warn",
    AuthStatus.NEEDS_REAUTH: "bad",
    AuthStatus.ERROR: "bad",
    AuthStatus.DISABLED: "neutral",
}

# status value -> (text, tone)
BADGES: dict[str, tuple[str, str]] = {
    **{status.value: (status.label, tone) for status, tone in _AUTH_TONES.items()},
    "revoked": ("Revoked", "neutral"),
    # Invitations (workspaces/invitations.py: invitation_status)
    "pending": ("Pending", "warn"),
    "accepted": ("Accepted", "ok"),
    "replaced": ("Replaced", "neutral"),
    "expired": ("Expired", "bad"),
    # Webhook and email deliveries (events/models.py: DeliveryStatus; "pending" as above)
    "delivered": ("Delivered", "ok"),
    "failed": ("Failed", "bad"),
}


def badge_for(value: str) -> tuple[str, str]:
    return BADGES.get(value, (str(value).replace("_", " ").capitalize(), "neutral"))
