"""Who may frame the platform's pages, and the policy of the pages that may be framed.

Every page refuses to be framed: Django's XFrameOptionsMiddleware answers `X-Frame-Options: DENY`,
and FramingMiddleware below adds `Content-Security-Policy: frame-ancestors 'none'` to every answer
that does not say who may frame it (a page that forgets is refused, never opened up).

The end-user pages (the config wizard and the auth-only dialog, pages/wizard_views.py) are made to
be framed by the embedded customer's own pages. `embeddable()` gives their answers:

- `frame-ancestors 'self' <the organization's allowed origins>`, in a policy that also allows
  nothing from another host (our own script and stylesheets, images from the platform and the
  organization's logo host) — X-Frame-Options cannot list origins, so those views are
  `xframe_options_exempt` and the CSP header alone decides;
- `Cross-Origin-Opener-Policy: unsafe-none` (SecurityMiddleware would send same-origin): opened as
  a popup by the customer's page, or opening the provider's consent in a popup, these pages keep
  the `window.opener` link their postMessage needs;
- `Cache-Control: no-store`: the first request carries the one-time code in its URL. (The
  Referrer-Policy stays the site's `same-origin`: `no-referrer` would make the browser send
  `Origin: null` with the pages' form posts, which Django's CSRF check rightly refuses; no other
  host ever learns these pages' addresses, and the logo is fetched with referrerpolicy=no-referrer.)

Cookies in a frame: the customer's page is usually another site, and browsers send a frame only
the cookies marked `SameSite=None; Secure` (https). Over https, FramingMiddleware marks the CSRF
cookie set on an embeddable answer that way, so the framed forms post with their token
(CSRF_COOKIE_SAMESITE stays Lax everywhere else; Django's CSRF check never relied on SameSite: the
token and the Origin check do the work). Over plain http no cookie works in a cross-site frame: the
wizard notices that before it uses the code and continues in a popup (pages/wizard_views.py).
"""

import secrets

from django.conf import settings

FRAME_ANCESTORS = "frame-ancestors"
CSP = "Content-Security-Policy"


def frame_ancestors(origins: list[str]) -> str:
    return " ".join([FRAME_ANCESTORS, "'self'", *origins])


def style_nonce() -> str:
    return secrets.token_urlsafe(16)


def embeddable(
    response, *, frame_origins: list[str], image_origins: list[str] = (), nonce: str = ""
):
    """Mark an end-user page's answer as one that `frame_origins` may frame."""
    styles = ["'self'"] + ([f"'nonce-{nonce}'"] if nonce else [])
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        f"style-src {' '.join(styles)}",
        " ".join(["img-src 'self'", *image_origins]),
        "connect-src 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        frame_ancestors(frame_origins),
    ]
    response[CSP] = "; ".join(directives)
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    response["Cache-Control"] = "no-store"
    response.embeddable = True
    return response


class FramingMiddleware:
    """Every answer without a frame-ancestors directive refuses framing; an embeddable answer over
    https sets its CSRF cookie for a third-party frame. Listed above CsrfViewMiddleware, so it sees
    the cookie that middleware sets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = response.get(CSP)
        if policy is None:
            response[CSP] = f"{FRAME_ANCESTORS} 'none'"
        elif FRAME_ANCESTORS not in policy:
            response[CSP] = f"{policy.rstrip('; ')}; {FRAME_ANCESTORS} 'none'"
        if getattr(response, "embeddable", False) and request.is_secure():
            cookie = response.cookies.get(settings.CSRF_COOKIE_NAME)
            if cookie is not None and cookie.value:
                cookie["samesite"] = "None"
                cookie["secure"] = True
        return response
