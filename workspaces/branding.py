"""An organization's branding of the end-user pages (the config wizard and the auth-only dialog):
the name shown in their header, a logo and an accent colour.

- **Brand name**: one line, at most 100 characters; empty means the organization's name.
- **Logo URL**: an absolute https URL (http only on localhost, as for allowed origins), without
  user names or passwords, at most 1000 characters. It is the one thing those pages load from
  another host: the end user's browser fetches it from the customer's host, with no Referer
  (referrerpolicy="no-referrer") and nothing else (the pages' Content-Security-Policy allows images
  from that one origin only). Without a logo, or where the host cannot be reached, the pages show
  the brand name.
- **Accent colour**: `#rrggbb`, the background of the pages' buttons and the colour of their links.
  Button text is white, so the colour must give white text a contrast of at least 4.5:1 (WCAG 2.x
  AA for body text); a lighter one is refused with the contrast it has and a darker colour of the
  same hue that would do.
"""

import math
import re
from dataclasses import dataclass

from infrastructure.errors import RuleViolation
from infrastructure.text import name_check
from workspaces.origins import origin_of

MAX_BRAND_NAME_LENGTH = 100
MAX_LOGO_URL_LENGTH = 1000
# WCAG 2.x success criterion 1.4.3 (contrast, minimum) for text of normal size.
MIN_CONTRAST = 4.5
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
WHITE = "#ffffff"


def brand_name_clean(value: str) -> str:
    value = (value or "").strip()
    name_check(value, field="wizard_brand_name", what="The wizard's brand name")
    if len(value) > MAX_BRAND_NAME_LENGTH:
        raise RuleViolation(
            f"wizard_brand_name: at most {MAX_BRAND_NAME_LENGTH} characters (this one has "
            f"{len(value)}).",
            field="wizard_brand_name",
        )
    return value


def logo_url_clean(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > MAX_LOGO_URL_LENGTH:
        raise RuleViolation(
            f"wizard_logo_url: at most {MAX_LOGO_URL_LENGTH} characters.", field="wizard_logo_url"
        )
    origin, why = origin_of(value)
    if origin is None:
        raise RuleViolation(
            f"wizard_logo_url: {why}, e.g. https://app.example.com/logo.png.",
            field="wizard_logo_url",
        )
    return value


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #rrggbb colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _darker_that_passes(colour: str) -> str:
    """The same hue, darkened in steps of 5 % until white text on it reaches MIN_CONTRAST."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(1, 21):
        factor = 1 - step * 0.05
        candidate = "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))
        if contrast_ratio(candidate, WHITE) >= MIN_CONTRAST:
            return candidate
    return "#000000"


def accent_colour_clean(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if not HEX_COLOUR.fullmatch(value):
        raise RuleViolation(
            f"wizard_accent_colour: '{value[:20]}' is not a colour: write it as #rrggbb, e.g. "
            "#0b57d0.",
            field="wizard_accent_colour",
        )
    value = value.lower()
    ratio = contrast_ratio(value, WHITE)
    if ratio < MIN_CONTRAST:
        raise RuleViolation(
            f"wizard_accent_colour: white button text on {value} has a contrast of "
            f"{math.floor(ratio * 100) / 100:.2f}:1; "
            f"it needs at least {MIN_CONTRAST}:1 to be readable (WCAG AA). Choose a darker "
            f"colour, e.g. {_darker_that_passes(value)}.",
            field="wizard_accent_colour",
        )
    return value


@dataclass(frozen=True)
class Brand:
    """What the end-user pages show: a name, maybe a logo (and the origin its image comes from,
    for the pages' Content-Security-Policy), maybe an accent colour and its darker hover shade."""

    name: str
    logo_url: str = ""
    logo_origin: str = ""
    accent: str = ""
    accent_hover: str = ""


def _darken(colour: str, factor: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))


def brand_of(organization) -> Brand:
    """The organization's branding as the pages use it; values that no longer pass the checks
    (written before a rule tightened) are left out rather than shown."""
    logo_origin = origin_of(organization.wizard_logo_url)[0] if organization.wizard_logo_url else ""
    accent = organization.wizard_accent_colour
    if accent and not (
        HEX_COLOUR.fullmatch(accent) and contrast_ratio(accent, WHITE) >= MIN_CONTRAST
    ):
        accent = ""
    return Brand(
        name=organization.wizard_brand_name or organization.name,
        logo_url=organization.wizard_logo_url if logo_origin else "",
        logo_origin=logo_origin or "",
        accent=accent.lower(),
        accent_hover=_darken(accent, 0.8) if accent else "",
    )
