"""The Connections and Services pages of members (/connections/, /services/). Thin: each view
resolves the organization in its address to the signed-in person's actor (actor_for_slug: not a
member, 404), reads through the API's scoped selectors, and acts through the same domain functions
as the API. A DomainError is shown next to the field it names, or as a message.

Scoping: every page of one organization goes through `_actor()`, and every authentication and
service is fetched through authentication_list_for_actor / service_list_for_actor for that actor,
so an auth in a workspace the person cannot see, or of another organization, is a 404 page.

OAuth: the flow starts here with this site's own page as its return path, and the callback
(connections/api.py) brings the browser back to it with a message.
"""

import uuid
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from auths.models import Authentication, AuthStatus
from auths.selectors import authentication_list_for_actor
from connections import authentications
from connections.browser_flows import (
    is_browser_flow,
    needs_own_oauth_app,
    oauth_authorization_start,
    oauth_redirect_uri,
)
from connections.checks import authentication_check, authentication_testable
from connections.client_credentials import authentication_create_client_credentials
from connections.connection import authentication_warnings, require_manage
from connections.password_grant import authentication_create_password
from connections.reauthentication import authentication_reauthenticate
from connections.token_auth import authentication_create_token
from connections.transactions import AuthorizationStart
from infrastructure.errors import DomainError, NotFound
from pages.connection_forms import (
    ConnectForm,
    MoveForm,
    RenameForm,
    ServiceSearchForm,
    credential_fields,
    show_error,
)
from services.admin_forms import create_from_connector_url
from services.custom_services import service_id_is_free
from services.models import AuthScheme, GrantType, Service, ServiceSource
from services.notices import service_warnings
from services.rules import may_manage_custom_service
from services.selectors import own_oauth_apps_of_connector, service_list_for_actor
from workspaces.access import Actor, actor_for, actor_for_slug, asset_workspace
from workspaces.selectors import (
    may_use_admin,
    membership_list_for_user,
    workspace_list_for_asset_creation,
)

NOT_FOUND_TEMPLATE = "pages/connections/not_found.html"


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _posted(request):
    """The form's data on a POST, even an empty one (a form of no fields is still submitted)."""
    return request.POST if request.method == "POST" else None


def _not_found(request, what="connection"):
    return render(request, NOT_FOUND_TEMPLATE, {"what": what}, status=404)


def organization_page(view):
    """Signed in, and a member of the organization in the address: the view gets the actor. A
    NotFound anywhere in the view (another organization, an auth the person cannot see) is the
    404 page, never a hint that the thing exists."""

    @login_required
    @wraps(view)
    def wrapper(request, organization_slug, *args, **kwargs):
        try:
            actor = actor_for_slug(slug=organization_slug, user=request.user)
            return view(request, actor, *args, **kwargs)
        except (NotFound, Http404):
            return _not_found(request)

    return wrapper


def _auth(actor: Actor, authentication_id) -> Authentication:
    auth = authentication_list_for_actor(actor=actor).filter(pk=authentication_id).first()
    if auth is None:
        raise NotFound("Authentication not found.")
    return auth


def _service(actor: Actor, service_id) -> Service:
    service = service_list_for_actor(actor=actor).filter(pk=service_id).first()
    if service is None:
        raise NotFound("Service not found.")
    return service


def _list_url(actor: Actor) -> str:
    return reverse("connections:list") + f"#org-{actor.organization.slug}"


def _may_manage(actor: Actor, auth: Authentication) -> bool:
    try:
        require_manage(actor=actor, authentication=auth, action="manage")
    except DomainError:
        return False
    return True


def _default_workspace(actor: Actor, workspaces):
    try:
        default = asset_workspace(actor=actor)
    except DomainError:
        default = None
    return default if default in workspaces else (workspaces[0] if workspaces else None)


# --- what an auth's status means, in words -------------------------------------------------------

STATUS_WORDS = {
    AuthStatus.ACTIVE: "Working.",
    AuthStatus.EXPIRING: "Working, but it will stop soon: re-authenticate before the date below.",
    AuthStatus.NEEDS_REAUTH: "Not working: the provider refused it. Re-authenticate to reconnect.",
    AuthStatus.ERROR: "Failing for now: the platform keeps retrying.",
    AuthStatus.DISABLED: "Paused: no refresh and no API calls until it is enabled again.",
}


@dataclass(frozen=True)
class Explanation:
    summary: str
    reason: str
    ends_at: object
    ends_because: str


def auth_explanation(auth: Authentication) -> Explanation:
    """The status in words, why (the lifecycle's own reason, lifecycle/state.py), and the
    predicted end with its reason (lifecycle/predictions.py, stored on the row)."""
    reason = auth.status_reason
    if not reason and auth.status == AuthStatus.ERROR:
        reason = auth.last_refresh_error
    return Explanation(
        summary=STATUS_WORDS.get(auth.status, ""),
        reason=reason,
        ends_at=auth.refresh_token_expires_at,
        ends_because=auth.refresh_token_expiry_reason,
    )


@dataclass
class Row:
    auth: Authentication
    explanation: Explanation
    may_manage: bool
    testable: bool


@dataclass
class OrganizationConnections:
    actor: Actor
    rows: list
    may_connect: bool


# --- the list ------------------------------------------------------------------------------------


@login_required
def connection_list(request):
    """Every organization of the person, each with the auths they can see in it."""
    sections = []
    for membership in membership_list_for_user(user=request.user):
        actor = actor_for(organization=membership.organization, user=request.user)
        rows = [
            Row(
                auth=auth,
                explanation=auth_explanation(auth),
                may_manage=_may_manage(actor, auth),
                testable=authentication_testable(auth),
            )
            for auth in authentication_list_for_actor(actor=actor)
        ]
        sections.append(
            OrganizationConnections(
                actor=actor,
                rows=rows,
                may_connect=bool(workspace_list_for_asset_creation(actor=actor)),
            )
        )
    return render(request, "pages/connections/list.html", {"sections": sections})


# --- connect -------------------------------------------------------------------------------------


def _refuse_creation(request, actor: Actor):
    messages.error(
        request,
        f"Your role in {actor.organization.name} is {actor.role}: you may use the connections "
        "shared with you, not create any. Ask the organization's owner or an admin for the "
        "contributor role.",
    )
    return redirect(_list_url(actor))


@organization_page
def connect_picker(request, actor):
    """Pick a service: the catalog and the organization's custom services, with search."""
    if not workspace_list_for_asset_creation(actor=actor):
        return _refuse_creation(request, actor)
    form = ServiceSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    listed = list(service_list_for_actor(actor=actor, search=search).order_by("name"))
    services = [{"service": service, **_own_app(request, actor, service)} for service in listed]
    return render(
        request,
        "pages/connections/picker.html",
        {"actor": actor, "form": form, "services": services, "search": search},
    )


def _connect_result(request, actor, result, service):
    if isinstance(result, AuthorizationStart):
        response = redirect(result.authorize_url)
        response["Referrer-Policy"] = "no-referrer"
        return response
    messages.success(request, f"{service.name} is connected as “{result.name}”.")
    return redirect(_list_url(actor))


def _create(request, actor: Actor, service: Service, values: dict):
    common = {
        "actor": actor,
        "service": service,
        "workspace": values["workspace"],
        "name": values["name"],
        "parameters": values["parameters"],
    }
    if service.auth_scheme == AuthScheme.TOKEN:
        return authentication_create_token(**common, credentials=values["credentials"])
    if is_browser_flow(service):
        return oauth_authorization_start(
            **common, base_url=_base_url(request), return_url=_list_url(actor)
        )
    if service.grant_type == GrantType.CLIENT_CREDENTIALS:
        return authentication_create_client_credentials(**common)
    return authentication_create_password(
        **common, username=values.get("username", ""), password=values.get("password", "")
    )


def _own_app(request, actor: Actor, service: Service) -> dict:
    """For a catalog connector that signs in with the organization's own OAuth app: whether it
    lacks one, the organization's custom services made from it (connect those instead), and, for
    an owner, the admin form that creates one from the connector."""
    if not needs_own_oauth_app(service):
        return {"needs_own_app": False}
    may_create = may_use_admin(request.user) and actor.is_owner
    return {
        "needs_own_app": True,
        "own_apps": list(
            own_oauth_apps_of_connector(connector=service, organization_ids=[actor.organization.pk])
        ),
        "create_from_connector_url": create_from_connector_url(service) if may_create else "",
    }


@organization_page
def connect_service(request, actor, service_id):
    """The form of one service: only the fields its scheme needs, and its parameters. A browser
    sign-in goes on to the provider; the others are saved at once. A connector that needs the
    organization's own OAuth app is not started: the page says what to do instead."""
    service = _service(actor, service_id)
    workspaces = workspace_list_for_asset_creation(actor=actor)
    if not workspaces:
        return _refuse_creation(request, actor)
    own_app = _own_app(request, actor, service)
    if own_app["needs_own_app"]:
        return render(
            request,
            "pages/connections/needs_own_app.html",
            {"actor": actor, "service": service, **own_app},
            status=400 if request.method == "POST" else 200,
        )
    form = ConnectForm(
        _posted(request),
        service=service,
        workspaces=workspaces,
        default_workspace=_default_workspace(actor, workspaces),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = _create(request, actor, service, form.inputs())
            except DomainError as error:
                show_error(form, error)
            else:
                return _connect_result(request, actor, result, service)
        status = 400
    return render(
        request,
        "pages/connections/connect.html",
        {
            "actor": actor,
            "service": service,
            "form": form,
            "browser_flow": is_browser_flow(service),
            "needs_credentials": bool(credential_fields(service)),
            "warnings": authentication_warnings(service),
        },
        status=status,
    )


# --- one connection --------------------------------------------------------------------------------


@organization_page
def reauthenticate(request, actor, authentication_id):
    """GET: what re-authenticating does, and the form for the service's scheme. POST: run the
    flow again for the same auth (it keeps its id)."""
    auth = _auth(actor, authentication_id)
    service = auth.service
    form = ConnectForm(_posted(request), service=service, authentication=auth)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = authentication_reauthenticate(
                    actor=actor,
                    authentication=auth,
                    inputs=form.inputs(),
                    base_url=_base_url(request),
                    return_url=_list_url(actor),
                )
            except DomainError as error:
                if error.field:
                    show_error(form, error)
                else:
                    # A refusal of the person, not of an input: their role.
                    messages.error(request, error.message)
                    return redirect(_list_url(actor))
            else:
                if isinstance(result, AuthorizationStart):
                    return _connect_result(request, actor, result, service)
                messages.success(request, f"“{result.name}” is re-authenticated.")
                return redirect(_list_url(actor))
        status = 400
    return render(
        request,
        "pages/connections/reauthenticate.html",
        {
            "actor": actor,
            "auth": auth,
            "service": service,
            "form": form,
            "explanation": auth_explanation(auth),
            "browser_flow": is_browser_flow(service),
            "may_manage": _may_manage(actor, auth),
        },
        status=status,
    )


@organization_page
@require_POST
def test(request, actor, authentication_id):
    auth = _auth(actor, authentication_id)
    try:
        outcome = authentication_check(authentication=auth)
    except DomainError as error:
        messages.error(request, f"“{auth.name}” was not tested: {error.message}")
    else:
        level = messages.SUCCESS if outcome.ok else messages.ERROR
        prefix = "Test passed" if outcome.ok else "Test failed"
        messages.add_message(request, level, f"{prefix} for “{auth.name}”: {outcome.message}")
    return redirect(_list_url(actor))


def _manage_page(request, actor, auth, *, rename_form=None, move_form=None, status=200):
    workspaces = [
        w for w in workspace_list_for_asset_creation(actor=actor) if w.pk != auth.workspace_id
    ]
    return render(
        request,
        "pages/connections/manage.html",
        {
            "actor": actor,
            "auth": auth,
            "explanation": auth_explanation(auth),
            "may_manage": _may_manage(actor, auth),
            "testable": authentication_testable(auth),
            "rename_form": rename_form or RenameForm(initial={"name": auth.name}),
            "move_form": move_form or MoveForm(workspaces=workspaces),
            "can_move": bool(workspaces),
        },
        status=status,
    )


@organization_page
def manage(request, actor, authentication_id):
    return _manage_page(request, actor, _auth(actor, authentication_id))


def _role_refusal(request, actor, error):
    messages.error(request, error.message)
    return redirect(_list_url(actor))


@organization_page
@require_POST
def rename(request, actor, authentication_id):
    auth = _auth(actor, authentication_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            authentications.authentication_rename(
                actor=actor, authentication=auth, name=form.cleaned_data["name"]
            )
        except DomainError as error:
            if not error.field:
                return _role_refusal(request, actor, error)
            show_error(form, error)
        else:
            messages.success(request, f"Renamed to “{auth.name}”.")
            return redirect(_list_url(actor))
    return _manage_page(
        request, actor, _auth(actor, authentication_id), rename_form=form, status=400
    )


@organization_page
@require_POST
def move(request, actor, authentication_id):
    auth = _auth(actor, authentication_id)
    workspaces = [
        w for w in workspace_list_for_asset_creation(actor=actor) if w.pk != auth.workspace_id
    ]
    form = MoveForm(request.POST, workspaces=workspaces)
    if form.is_valid():
        try:
            authentications.authentication_move(
                actor=actor,
                authentication=auth,
                workspace=form.workspaces[form.cleaned_data["workspace"]],
            )
        except DomainError as error:
            if not error.field:
                return _role_refusal(request, actor, error)
            show_error(form, error)
        else:
            messages.success(request, f"“{auth.name}” is now in workspace {auth.workspace.name}.")
            return redirect(_list_url(actor))
    return _manage_page(request, actor, auth, move_form=form, status=400)


@organization_page
def delete(request, actor, authentication_id):
    """GET: a confirmation page that says what deleting does. POST: delete (revoking the grant at
    the provider first where the service can)."""
    auth = _auth(actor, authentication_id)
    if request.method == "POST":
        try:
            result = authentications.authentication_delete(actor=actor, authentication=auth)
        except DomainError as error:
            return _role_refusal(request, actor, error)
        message = f"“{auth.name}” is deleted."
        if result["revoked"]:
            message += f" {auth.service.name} was asked to revoke its access."
        elif result["revocation_error"]:
            message += f" Revoking it at {auth.service.name} failed: {result['revocation_error']}"
        messages.success(request, message)
        return redirect(_list_url(actor))
    return render(
        request,
        "pages/connections/delete.html",
        {"actor": actor, "auth": auth, "may_manage": _may_manage(actor, auth)},
    )


# --- services ------------------------------------------------------------------------------------


@login_required
def service_list(request):
    """The services each of the person's organizations may use, with search."""
    form = ServiceSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    sections = []
    for membership in membership_list_for_user(user=request.user):
        actor = actor_for(organization=membership.organization, user=request.user)
        sections.append(
            {
                "actor": actor,
                "services": service_list_for_actor(actor=actor, search=search).order_by(
                    "source", "name"
                ),
            }
        )
    return render(
        request,
        "pages/services/list.html",
        {"sections": sections, "form": form, "search": search},
    )


def _redirect_uri_shown(service: Service) -> bool:
    return service.source == ServiceSource.CUSTOM and is_browser_flow(service)


@organization_page
def service_detail(request, actor, service_id):
    """What a member needs to pick the service; for its owner, the org owner and admins, the
    definition and the redirect URI to register with the provider."""
    service = _service(actor, service_id)
    full = service.source == ServiceSource.CUSTOM and may_manage_custom_service(
        actor=actor, service=service
    )
    return render(
        request,
        "pages/services/detail.html",
        {
            "actor": actor,
            "service": service,
            "full": full,
            "redirect_uri": oauth_redirect_uri(base_url=_base_url(request), service_id=service.pk)
            if full and _redirect_uri_shown(service)
            else "",
            "warnings": service_warnings(service=service),
            "may_use_admin": may_use_admin(request.user) and actor.is_owner,
            "may_connect": bool(workspace_list_for_asset_creation(actor=actor)),
            **_own_app(request, actor, service),
        },
    )


@organization_page
def service_new(request, actor):
    """Reserve an id for a custom service not made yet, in the address, so reloading the page keeps
    the same redirect URI while the builder registers it with the provider."""
    return redirect(
        "services:reserved", organization_slug=actor.organization.slug, service_id=uuid.uuid4()
    )


@organization_page
def service_reserved(request, actor, service_id):
    """Before saving: the redirect URI the service will have, and where to create it with this id
    (the admin's add form, or the API)."""
    if not service_id_is_free(service_id=service_id):
        # Taken meanwhile (or made already): another id, so two services never share a callback.
        return redirect("services:new", organization_slug=actor.organization.slug)
    return render(
        request,
        "pages/services/reserved.html",
        {
            "actor": actor,
            "service_id": service_id,
            "redirect_uri": oauth_redirect_uri(base_url=_base_url(request), service_id=service_id),
            "may_use_admin": may_use_admin(request.user) and actor.is_owner,
            "api_path": reverse(
                "custom-service-list", kwargs={"organization_slug": actor.organization.slug}
            ),
        },
    )
