"""The end-user pages: the config wizard (/embedded/<org>/solutions/<id>/configure/ for a new
instance, /embedded/<org>/instances/<id>/configure/ to edit or upgrade one) and the auth-only
dialog (/embedded/<org>/auth/<slot or service>/). Thin: each request calls the functions of
embedded/wizard.py and renders what they return.

**Getting in.** The address comes with `?code=<one-time code>`. Before the code is used, the page
sets a probe cookie and reloads itself once: when the probe comes back, the code is exchanged for a
session (its own cookie, HttpOnly, signed, limited to this page's path and
EMBEDDED_WIZARD_SESSION_MINUTES, `SameSite=None; Secure` over https so that it works in a
third-party frame, `Lax` over http) and the browser goes on to the same address without the code.
When the probe does not come back (a cross-site frame over http, or a browser that refuses
third-party cookies), the code is left unused and the page offers to continue in a window of its
own (a popup), where first-party cookies work. Nothing here touches the member's session.

**Answers** are posted to the page's own address (`action` = next, connect:<slot>, finish,
cancel) with the CSRF token. A provider's consent is never framed: with JavaScript it opens in a
popup (pages/static/pages/wizard.js asks for the authorize URL, `mode=popup`), whose last page
tells this one to look again; without, the window goes to the provider and comes back here.

**Messages.** The last page of each path posts one message to the embedding page (wizard.js),
with every allowed origin as targetOrigin, never "*": `instance.configured`, `wizard.close`,
`wizard.error`; the dialog `auth.finish`, `auth.close`, `auth.error`.

**Framing.** Every answer here names who may frame it: `frame-ancestors 'self'` and the
organization's allowed origins (pages/framing.py); a framing origin not on the list gets nothing
(the browser refuses to render).
"""

import json
from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods

from connections.connection import authentication_warnings
from connections.transactions import AuthorizationStart
from embedded import wizard
from embedded.models import WizardPage, WizardSession
from infrastructure.errors import DomainError
from pages.framing import embeddable, style_nonce
from pages.wizard_forms import ConfigForm, ConnectForm
from workspaces.branding import Brand, brand_of

SESSION_COOKIE = "embedded_wizard"
PROBE_COOKIE = "embedded_wizard_probe"
SALT = "embedded.wizard"
PROBE = "probe"
POPUP_WINDOW = "embedded-wizard-popup"
ERROR_TYPES = {WizardPage.WIZARD: "wizard.error", WizardPage.AUTH_DIALOG: "auth.error"}


# --- answers: framing, branding, cookies ---------------------------------------------------------


def _page(request, template, context, *, organization=None, status=200, message=None):
    """Render an end-user page: branded, framable by the organization's allowed origins only, and
    posting `message` to the embedding page when given."""
    brand = brand_of(organization) if organization is not None else Brand(name="Connect platform")
    origins = list(organization.allowed_origins or []) if organization is not None else []
    nonce = style_nonce() if brand.accent else ""
    response = render(
        request,
        template,
        {
            **context,
            "brand": brand,
            "csp_nonce": nonce,
            "post_message": json.dumps(message) if message else "",
            "target_origins": json.dumps(origins),
        },
        status=status,
    )
    return _framed(response, organization, brand=brand, nonce=nonce)


def _framed(response, organization, *, brand=None, nonce=""):
    origins = list(organization.allowed_origins or []) if organization is not None else []
    images = [brand.logo_origin] if brand is not None and brand.logo_origin else []
    return embeddable(response, frame_origins=origins, image_origins=images, nonce=nonce)


def _cookie_name(request, base: str) -> str:
    # The __Secure- prefix: a browser accepts the cookie only from https, with Secure.
    return f"__Secure-{base}" if request.is_secure() else base


def _set_cookie(request, response, base, value, *, max_age):
    secure = request.is_secure()
    response.set_signed_cookie(
        _cookie_name(request, base),
        value,
        salt=SALT,
        max_age=max_age,
        path=request.path,
        secure=secure,
        httponly=True,
        # A third-party frame gets only SameSite=None cookies, which browsers accept with Secure
        # alone; over http the wizard continues in a popup instead (see the module docstring).
        samesite="None" if secure else "Lax",
    )


def _refused(request, error: DomainError, *, organization, page):
    title = getattr(error, "title", "This page cannot be opened")
    message = {"type": ERROR_TYPES[page], "message": error.message}
    return _page(
        request,
        "wizard/message.html",
        {"title": title, "text": error.message, "tone": "bad"},
        organization=organization,
        status=error.status_code,
        message=message,
    )


def _not_found(request):
    return _page(
        request,
        "wizard/message.html",
        {
            "title": "Page not found",
            "text": "There is no such page. Check the address the app gave you.",
            "tone": "bad",
        },
        status=404,
    )


# --- getting in ------------------------------------------------------------------------------------


def _probe_query(request) -> str:
    keep = {k: request.GET[k] for k in ("code", "authentication") if k in request.GET}
    return urlencode(keep)


def _exchange(request, address: wizard.WizardAddress, organization):
    """?code=: check that cookies reach this page, then use the code up (see the docstring)."""
    if wizard.wizard_session_resume(
        raw_token=_session_token(request), raw_code=request.GET.get("code", ""), path=request.path
    ):
        return _framed(redirect(request.path), organization)
    if request.GET.get(PROBE) != "1":
        response = redirect(f"{request.path}?{_probe_query(request)}&{PROBE}=1")
        _set_cookie(request, response, PROBE_COOKIE, "1", max_age=600)
        return _framed(response, organization)
    probe = request.get_signed_cookie(
        _cookie_name(request, PROBE_COOKIE), default=None, salt=SALT, max_age=600
    )
    if probe != "1":
        return _page(
            request,
            "wizard/new_window.html",
            {
                "title": "Continue in a new window",
                "url": f"{request.path}?{_probe_query(request)}",
                "window_name": POPUP_WINDOW,
            },
            organization=organization,
        )
    try:
        session, token = wizard.wizard_session_start(
            raw_code=request.GET.get("code", ""), address=address, home_path=request.path
        )
    except DomainError as error:
        response = _refused(request, error, organization=organization, page=address.page)
    else:
        response = _framed(redirect(request.path), organization)
        _set_cookie(
            request,
            response,
            SESSION_COOKIE,
            token,
            max_age=int(wizard.session_lifetime().total_seconds()),
        )
        response.status_code = 303
    response.delete_cookie(
        _cookie_name(request, PROBE_COOKIE),
        path=request.path,
        samesite="None" if request.is_secure() else "Lax",
    )
    return response


def _session_token(request) -> str:
    return request.get_signed_cookie(
        _cookie_name(request, SESSION_COOKIE),
        default="",
        salt=SALT,
        max_age=int(wizard.session_lifetime().total_seconds()),
    )


def _session(request) -> WizardSession:
    return wizard.wizard_session_get(raw_token=_session_token(request), path=request.path)


def _finished(request, session: WizardSession, organization):
    """The last page of a session: what happened, and the message for the embedding page."""
    result = session.result or {}
    kind = result.get("type", "")
    what = session.solution.name if session.solution is not None else "the integration"
    texts = {
        "instance.configured": (
            "All set",
            f"Your settings for {what} are saved. You can close this window or go back to the app.",
            "ok",
        ),
        "auth.finish": (
            "Connected",
            "Your account is connected. You can close this window or go back to the app.",
            "ok",
        ),
        "wizard.close": ("Cancelled", "Nothing was saved.", "neutral"),
        "auth.close": ("Cancelled", "Nothing was connected.", "neutral"),
        "auth.error": ("Not connected", result.get("message", ""), "bad"),
    }
    title, text, tone = texts.get(kind, ("Finished", "", "neutral"))
    return _page(
        request,
        "wizard/message.html",
        {"title": title, "text": text, "tone": tone, "close_popup": POPUP_WINDOW},
        organization=organization,
        message=result,
    )


# --- the wizard ------------------------------------------------------------------------------------


def _step(request, screens) -> int:
    try:
        step = int(request.GET.get("step", request.POST.get("step", 0)))
    except ValueError:
        step = 0
    return min(max(step, 0), len(screens))


def _screen_url(request, step: int) -> str:
    return f"{request.path}?{urlencode({'step': step})}"


def _forms(session, screen, data=None):
    config = ConfigForm(screen.config_steps, data=data)
    connects = {
        step.external_id: ConnectForm(step.service, step.external_id, data=data)
        for step in screen.auth_steps
        if step.service is not None
    }
    return config, connects


def _screen_page(
    request, session, organization, screens, step, *, forms=None, errors=None, status=200
):
    if step >= len(screens):
        return _review_page(request, session, organization, screens, errors=errors, status=status)
    screen = screens[step]
    config, connects = forms or _forms(session, screen)
    for auth_step in screen.auth_steps:
        auth_step.connect_form = connects.get(auth_step.external_id)
        if errors and auth_step.external_id in errors:
            auth_step.error = errors[auth_step.external_id]
    if errors:
        config.show_errors(errors)
    for config_step in screen.config_steps:
        config_step.field = config[config_step.external_id]
    return _page(
        request,
        "wizard/screen.html",
        {
            "title": screen.title,
            "session": session,
            "screen": screen,
            "config_form": config,
            "step": step,
            "step_number": step + 1,
            "steps": len(screens) + 1,
            "back_url": _screen_url(request, step - 1) if step > 0 else "",
            "screen_url": _screen_url(request, step),
            "oauth_finished_origin": request.build_absolute_uri("/").rstrip("/"),
        },
        organization=organization,
        status=status,
    )


def _review_page(request, session, organization, screens, *, errors=None, status=200, message=None):
    rows = []
    for index, screen in enumerate(screens):
        for item in screen.steps:
            row = {"label": item.slot["title"], "url": _screen_url(request, index)}
            if isinstance(item, wizard.AuthStep):
                row["auth"] = next((a for a in item.choices if str(a.pk) == item.chosen), None)
            else:
                row["value"] = _shown(item)
            rows.append(row)
    return _page(
        request,
        "wizard/review.html",
        {
            "title": "Review and finish",
            "session": session,
            "rows": rows,
            "errors": list((errors or {}).values()),
            "step": len(screens),
            "step_number": len(screens) + 1,
            "steps": len(screens) + 1,
            "back_url": _screen_url(request, len(screens) - 1) if screens else "",
        },
        organization=organization,
        status=status,
        message=message,
    )


def _shown(step) -> str:
    value = step.value if step.value is not None else step.slot.get("default")
    if value is None or value == []:
        return "—"
    if step.slot["type"] == "boolean":
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _next(request, session, organization, screens, step):
    if step >= len(screens):
        return redirect(_screen_url(request, step))
    screen = screens[step]
    config, connects = _forms(session, screen, data=request.POST)
    errors = wizard.wizard_choose_auths(
        session=session,
        screen=screen,
        choices={
            s.external_id: request.POST.get(f"auth-{s.external_id}") for s in screen.auth_steps
        },
    )
    parsed = config.is_valid()
    if parsed and not errors:
        errors = wizard.wizard_configure(session=session, screen=screen, values=config.values())
    else:
        # Say everything that is wrong at once: the domain's view of the values that could be read
        # (a value that is not a number or not JSON already has its error).
        readable = [s.slot for s in screen.config_steps if not config.has_error(s.external_id)]
        errors = {**errors, **wizard.config_errors(slots=readable, values=config.values())}
    if errors or not parsed:
        return _screen_page(
            request,
            session,
            organization,
            wizard.session_screens(session),
            step,
            forms=(config, connects),
            errors=errors,
            status=400,
        )
    response = redirect(_screen_url(request, step + 1))
    response.status_code = 303
    return response


def _connect(request, session, organization, screens, step, slot):
    """Connect an account for `slot` (the wizard) or the dialog's one auth (slot None)."""
    popup = request.POST.get("mode") == "popup"
    target = wizard.connect_target(session, slot)
    form = ConnectForm(target.service, target.key, data=request.POST)
    if form.is_valid():
        if popup:
            return_url = request.build_absolute_uri(reverse("embedded-oauth-finished"))
        else:
            return_url = request.build_absolute_uri(
                _screen_url(request, step) if slot else request.path
            )
        try:
            result = wizard.wizard_connect(
                session=session,
                slot=slot,
                inputs=form.inputs(),
                base_url=request.build_absolute_uri("/"),
                return_url=return_url,
            )
        except wizard.WizardRefused:
            raise
        except DomainError as error:
            form.show_error(error.field, error.message)
        else:
            if isinstance(result, AuthorizationStart):
                if popup:
                    return _framed(
                        JsonResponse({"authorize_url": result.authorize_url}), organization
                    )
                response = redirect(result.authorize_url)
                response["Referrer-Policy"] = "no-referrer"
                return response
            if slot is None:
                return redirect(request.path)
            response = redirect(_screen_url(request, step))
            response.status_code = 303
            return response
    if popup:
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return _framed(JsonResponse({"error": " ".join(errors)}, status=400), organization)
    if slot is None:
        return _dialog_page(request, session, organization, form=form, status=400)
    screen = screens[step]
    config, connects = _forms(session, screen)
    connects[slot] = form
    return _screen_page(
        request, session, organization, screens, step, forms=(config, connects), status=400
    )


def _finish(request, session, organization, screens):
    try:
        wizard.wizard_save(session=session)
    except wizard.WizardRefused:
        raise
    except DomainError as error:
        where = (error.field or "").partition(".")[2]
        for index, screen in enumerate(screens):
            if any(item.external_id == where for item in screen.steps):
                return _screen_page(
                    request,
                    session,
                    organization,
                    screens,
                    index,
                    errors={where: error.message},
                    status=400,
                )
        # Not something a screen can fix (the integration changed meanwhile): the embedding
        # page hears it too.
        return _review_page(
            request,
            session,
            organization,
            screens,
            errors={"_": error.message},
            status=error.status_code,
            message={"type": "wizard.error", "message": error.message},
        )
    session.refresh_from_db()
    return _finished(request, session, organization)


def _wizard(request, organization_slug, *, solution_id=None, instance_id=None):
    organization = wizard.wizard_organization(organization_slug)
    if organization is None:
        return _not_found(request)
    address = wizard.WizardAddress(
        organization_slug=organization_slug,
        page=WizardPage.WIZARD,
        solution_id=solution_id,
        instance_id=instance_id,
    )
    if request.method == "GET" and "code" in request.GET:
        return _exchange(request, address, organization)
    try:
        session = _session(request)
        if session.finished_at is not None:
            return _finished(request, session, organization)
        wizard.wizard_pending_resolve(session=session)
        screens = wizard.session_screens(session)
        step = _step(request, screens)
        if request.method == "GET":
            return _screen_page(request, session, organization, screens, step)
        action, _, slot = request.POST.get("action", "").partition(":")
        if action == "connect":
            return _connect(request, session, organization, screens, step, slot)
        if action == "finish":
            return _finish(request, session, organization, screens)
        if action == "cancel":
            wizard.wizard_cancel(session=session)
            return _finished(request, session, organization)
        return _next(request, session, organization, screens, step)
    except DomainError as error:  # WizardRefused, or a refusal no form field can show
        return _refused(request, error, organization=organization, page=WizardPage.WIZARD)


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def solution_wizard(request, organization_slug, solution_id):
    return _wizard(request, organization_slug, solution_id=solution_id)


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def instance_wizard(request, organization_slug, instance_id):
    return _wizard(request, organization_slug, instance_id=instance_id)


# --- the auth-only dialog --------------------------------------------------------------------------


def _dialog_page(request, session, organization, *, form=None, status=200):
    target = wizard.connect_target(session)
    errors = wizard.wizard_pending_resolve(session=session)
    pending = wizard.DIALOG in ((session.draft or {}).get("pending") or {})
    return _page(
        request,
        "wizard/dialog.html",
        {
            "title": (
                f"Renew your {target.service.name} connection"
                if target.authentication
                else f"Connect {target.service.name}"
            ),
            "target": target,
            "form": form or ConnectForm(target.service, target.key),
            "kind": wizard.connect_form_kind(target.service),
            "warnings": authentication_warnings(target.service),
            "pending": pending,
            "error": errors.get(wizard.DIALOG, ""),
            "screen_url": request.path,
        },
        organization=organization,
        status=status,
    )


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def auth_dialog(request, organization_slug, target):
    organization = wizard.wizard_organization(organization_slug)
    if organization is None:
        return _not_found(request)
    address = wizard.WizardAddress(
        organization_slug=organization_slug,
        page=WizardPage.AUTH_DIALOG,
        target=target,
        authentication_id=request.GET.get("authentication", ""),
    )
    if request.method == "GET" and "code" in request.GET:
        return _exchange(request, address, organization)
    try:
        session = _session(request)
        if session.finished_at is None:
            wizard.wizard_pending_resolve(session=session)
            wizard.auth_dialog_finish(session=session)
        if session.finished_at is not None:
            return _finished(request, session, organization)
        if request.method == "GET":
            return _dialog_page(request, session, organization)
        action = request.POST.get("action", "")
        if action == "cancel":
            wizard.wizard_cancel(session=session)
            return _finished(request, session, organization)
        return _connect(request, session, organization, [], 0, None)
    except DomainError as error:  # WizardRefused, or a refusal no form field can show
        return _refused(request, error, organization=organization, page=WizardPage.AUTH_DIALOG)


# --- the popup's last page -------------------------------------------------------------------------

OAUTH_OUTCOMES = {
    "connected": ("Connected", "Your account is connected. This window closes by itself.", "ok"),
    "access_denied": ("Not connected", "You declined at the provider; nothing was saved.", "bad"),
    "provider_error": ("Not connected", "The provider did not connect the account.", "bad"),
}


@xframe_options_exempt
@require_GET
def oauth_finished(request):
    """Where a provider's consent in a popup ends (embedded/connect_links.py sends the browser
    here): it tells the page that opened the popup to look again, and closes. It shows only a
    fixed text for the outcome in its query: what was connected is read by the wizard itself,
    through its session."""
    outcome = request.GET.get("error") or request.GET.get("status") or ""
    title, text, tone = OAUTH_OUTCOMES.get(
        outcome, ("Finished", "Go back to the window you came from.", "neutral")
    )
    return _page(
        request,
        "wizard/message.html",
        {"title": title, "text": text, "tone": tone, "notify_opener": True},
    )
