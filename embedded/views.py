"""The embedded edition's browser routes that need no login: a connect link
(/embedded/connect/<code>/) is opened by an end user in any browser. Thin: redeem and start
through embedded/connect_links.py, render the outcome."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from embedded import connect_links
from infrastructure.errors import DomainError

# The link's code is in the URL: no page after this one learns it (Referer), no cache keeps it.
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def connect_page(request, *, title, message, ok, status=200, authentication=None):
    response = render(
        request,
        "embedded/connect.html",
        {"title": title, "message": message, "ok": ok, "authentication": authentication},
        status=status,
    )
    for name, value in NO_REFERRER.items():
        response[name] = value
    return response


@never_cache
@require_GET
def connect_link_view(request, code):
    """Open a connect link: straight on to the provider's consent, or a page that says why not."""
    try:
        opened = connect_links.connect_link_open(
            raw_code=code, base_url=request.build_absolute_uri("/")
        )
    except DomainError as refusal:
        return connect_page(
            request,
            title="This link cannot be used",
            message=refusal.message,
            ok=False,
            status=refusal.status_code,
        )
    if opened.authorize_url is None:
        return connect_page(
            request,
            title=f"Connect {opened.service.name}",
            message=(
                f"{opened.service.name} is connected by filling in a form "
                f"({opened.service.get_auth_scheme_display()}), which comes with the config "
                "wizard; this link cannot connect it. Ask the app that sent you here to open the "
                "wizard instead."
            ),
            ok=False,
        )
    response = HttpResponseRedirect(opened.authorize_url)
    for name, value in NO_REFERRER.items():
        response[name] = value
    return response
