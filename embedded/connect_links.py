"""Connect links: a one-time URL that takes one end user straight to a provider's consent, in any
browser, with no login (the customer's "Connect your CRM" button).

- **Created** by the customer's backend (connect_link_create) for one end user, naming a service,
  or an auth slot of one of that end user's instances (the slot's service and scopes), and
  optionally a `return_url`: https (http on localhost only), its origin on the organization's
  allowed_origins. The link is an authorization code of purpose `connect` (embedded/codes.py):
  stored hashed, single use, valid 10 minutes.
- **Opened** (connect_link_open, at /embedded/connect/<code>/): the code is redeemed and the
  browser flow of connections/browser_flows.py starts as the end user (OAuth 2.0 code with PKCE,
  or OAuth 1.0a): the transaction carries the end user and the return URL, and the browser goes on
  to the provider. A service connected with a form (API key, password) gets it with the config
  wizard, not here.
- **Finished** (end_user_flow_finish): the OAuth callback accepts the end user's answer with no
  session (the single-use state is the proof) and saves the auth as theirs in the embedded
  workspace; here it is bound to the link's slot (embedded/instances.py, with every binding check)
  and the browser returns to `return_url`, whose origin is checked again (the list may have changed
  since), with `status=connected&authentication_id=<id>` or `status=error&error=<code>`:
  `access_denied` (the end user declined), `provider_error` (the provider gave no tokens) or
  `binding_refused` (connected, but the auth cannot serve the slot; authentication_id is given).
  Without a return URL the end user sees a page that says what happened.

Opening a link uses it up: a link previewer that fetches it (a chat client unfurling a pasted URL)
burns it, so hand links over by redirecting the end user's own browser, not by message.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.urls import reverse

from auths.models import Authentication, OAuthTransaction
from auths.parameters import parameters_validate
from connections.browser_flows import is_browser_flow, oauth_authorization_start
from connections.transactions import with_query
from embedded.access import require_embedded_builder
from embedded.codes import authorization_code_create, authorization_code_redeem
from embedded.instances import instance_update
from embedded.models import AuthorizationCode, CodePurpose, SolutionInstance
from embedded.solutions import latest_release
from infrastructure.errors import DomainError, NotFound, RuleViolation
from services.models import Service
from services.selectors import service_list_for_actor
from workspaces.access import Actor, actor_for_end_user
from workspaces.models import EndUser, Organization
from workspaces.origins import origin_allowed, origin_of

logger = logging.getLogger(__name__)

# OAuthTransaction.return_url holds it until the callback.
MAX_RETURN_URL_LENGTH = 1000
# Where the platform's own end-user pages live (pages/wizard_urls.py).
EMBEDDED_PAGES = "/embedded/"
ACCESS_DENIED, PROVIDER_ERROR, BINDING_REFUSED = (
    "access_denied",
    "provider_error",
    "binding_refused",
)


def return_url_check(*, organization: Organization, return_url: str) -> str:
    """The return URL, if its origin is one the organization allows; else a RuleViolation on
    `return_url` that says which setting to change."""
    if not return_url:
        return ""
    if len(return_url) > MAX_RETURN_URL_LENGTH:
        raise RuleViolation(
            f"return_url: at most {MAX_RETURN_URL_LENGTH} characters.", field="return_url"
        )
    origin, why = origin_of(return_url)
    if origin is None:
        raise RuleViolation(f"return_url: {why}.", field="return_url")
    allowed = organization.allowed_origins or []
    if origin not in allowed:
        listed = ", ".join(allowed) if allowed else "none yet"
        raise RuleViolation(
            f"return_url: {origin} is not one of {organization.name}'s allowed origins ({listed}). "
            f"Add it to the organization's allowed_origins first (PATCH "
            f'/api/organizations/{organization.slug}/ {{"allowed_origins": [...]}}, or the '
            "organization's page in the admin).",
            field="return_url",
        )
    return return_url


def _auth_slot(instance: SolutionInstance, slot: str) -> dict | None:
    """The auth slot as the instance is edited now: against the latest release when it waits for
    an upgrade (as embedded/instances.py binds)."""
    release = latest_release(instance.solution) if instance.needs_upgrade else instance.release
    return {s["external_id"]: s for s in release.snapshot["auth_slots"]}.get(slot)


def _slot_service(actor: Actor, instance: SolutionInstance, slot: str) -> Service:
    found = _auth_slot(instance, slot)
    if found is None:
        release = latest_release(instance.solution) if instance.needs_upgrade else instance.release
        known = ", ".join(s["external_id"] for s in release.snapshot["auth_slots"]) or "none"
        raise RuleViolation(
            f"slot: the instance's solution has no auth slot '{slot}' (its auth slots: {known}).",
            field="slot",
        )
    if found["static_authentication"]:
        raise RuleViolation(
            f"slot: '{slot}' is a static slot: every instance uses the solution's shared auth, so "
            "the end user does not connect it.",
            field="slot",
        )
    service = service_list_for_actor(actor=actor).filter(pk=found["service"]).first()
    if service is None:
        raise NotFound(f"The service of slot '{slot}' no longer exists.", field="slot")
    return service


def _needs_no_form(service: Service) -> None:
    """A connect link goes straight to consent, so it cannot ask for the values a service needs
    first (a shop domain, a region)."""
    try:
        parameters_validate(service=service, values=None)
    except RuleViolation:
        names = ", ".join(p.get("title") or p["name"] for p in service.parameters if p.get("name"))
        raise RuleViolation(
            f"service: {service.name} asks the end user for values before consent ({names}); a "
            "connect link cannot ask for them. Send the end user to the config wizard instead.",
            field="service",
        ) from None


def connect_link_create(
    *,
    actor: Actor,
    end_user: EndUser,
    service: Service | None = None,
    instance: SolutionInstance | None = None,
    slot: str = "",
    return_url: str = "",
    now: datetime | None = None,
) -> tuple[AuthorizationCode, str]:
    """A connect link for `end_user`: to `service`, or to the auth `slot` of one of their
    instances. Returns the code and the raw code (connect_link_url makes the URL)."""
    require_embedded_builder(actor, "create connect links")
    if (service is None) == (instance is None):
        raise RuleViolation(
            'Name either a service ({"service": id}) or an auth slot of an instance '
            '({"instance": id, "slot": external_id}).',
            field="service",
        )
    if instance is not None:
        if not slot:
            raise RuleViolation(
                "slot: name the auth slot (its external id) to connect.", field="slot"
            )
        if instance.organization_id != actor.organization.pk:
            raise NotFound("Instance not found.", field="instance")
        if instance.end_user_id != end_user.pk:
            raise RuleViolation(
                f"instance: '{instance.name}' belongs to another end user; a connect link binds "
                "only the end user's own instances.",
                field="instance",
            )
        service = _slot_service(actor, instance, slot)
    elif not service_list_for_actor(actor=actor).filter(pk=service.pk).exists():
        raise NotFound("Service not found.", field="service")
    _needs_no_form(service)
    return authorization_code_create(
        actor=actor,
        end_user=end_user,
        instance=instance,
        purpose=CodePurpose.CONNECT,
        service=service,
        slot=slot if instance is not None else "",
        return_url=return_url_check(organization=actor.organization, return_url=return_url),
        now=now,
    )


def connect_link_url(raw_code: str, *, base_url: str) -> str:
    """The link's absolute URL; `base_url` is this platform's origin as the caller reached it."""
    return base_url.rstrip("/") + reverse("embedded-connect", kwargs={"code": raw_code})


@dataclass(frozen=True)
class ConnectOpened:
    service: Service
    # Where the browser goes now; None when the service connects with a form (the wizard's).
    authorize_url: str | None


def connect_link_open(*, raw_code: str, base_url: str) -> ConnectOpened:
    """Use the link up and start the provider's consent as its end user. Raises CodeRefused for a
    link that is unknown, used or expired, and the flow's own refusals (a provider that gives no
    OAuth 1.0a request token)."""
    code = authorization_code_redeem(raw_code=raw_code, purpose=CodePurpose.CONNECT)
    service = code.service
    if not is_browser_flow(service):
        return ConnectOpened(service=service, authorize_url=None)
    actor = actor_for_end_user(code.end_user)
    scopes = None
    if code.instance_id and code.slot:
        slot = _auth_slot(code.instance, code.slot)
        if slot is None:
            raise RuleViolation(
                f"The auth slot '{code.slot}' is no longer part of this integration; ask for a "
                "new link."
            )
        scopes = slot["scopes"] or None
    start = oauth_authorization_start(
        actor=actor,
        service=service,
        scopes=scopes,
        base_url=base_url,
        return_url=code.return_url,
    )
    code.oauth_transaction = start.transaction
    code.save(update_fields=["oauth_transaction"])
    return ConnectOpened(service=service, authorize_url=start.authorize_url)


@dataclass(frozen=True)
class ConnectOutcome:
    """What the end user's browser gets once the provider answered."""

    ok: bool
    title: str
    message: str
    authentication: Authentication | None = None
    redirect_url: str = ""


def _bind_to_slot(code: AuthorizationCode, auth: Authentication) -> str:
    """Bind the new auth to the link's slot, as the end user would in the wizard: every check of
    embedded/instances.py applies. Returns why it was refused ("" when bound)."""
    try:
        instance_update(
            actor=actor_for_end_user(code.end_user),
            instance=code.instance,
            auth_values=[{"external_id": code.slot, "authentication_id": str(auth.pk)}],
        )
    except DomainError as refusal:
        return refusal.message
    return ""


def platform_page(txn: OAuthTransaction, url: str) -> bool:
    """Whether `url` is one of the platform's own end-user pages (the config wizard, the auth
    dialog, their popup's last page), on the host the flow was started at (its callback's): those
    flows come back to the platform itself, not to the customer's origins."""
    try:
        page, callback = urlsplit(url), urlsplit(txn.redirect_uri)
        same_origin = (page.scheme, page.hostname, page.port) == (
            callback.scheme,
            callback.hostname,
            callback.port,
        )
    except ValueError:
        return False
    return same_origin and bool(page.hostname) and page.path.startswith(EMBEDDED_PAGES)


def end_user_flow_finish(*, txn: OAuthTransaction, query: dict) -> ConnectOutcome:
    """After the callback saved (or did not save) the end user's auth: bind it to the link's slot
    and say where the browser goes."""
    auth = txn.result_authentication
    code = (
        AuthorizationCode.objects.select_related("end_user", "instance__solution")
        .filter(oauth_transaction=txn)
        .first()
    )
    service = txn.service.name
    error = ""
    if auth is None:
        declined = query.get("error") == ACCESS_DENIED or bool(query.get("denied"))
        error = ACCESS_DENIED if declined else PROVIDER_ERROR
        message = txn.result_error or f"{service} is not connected."
    else:
        message = f"{service} is connected. You can close this window."
        if code is not None and code.instance_id and code.slot:
            refused = _bind_to_slot(code, auth)
            if refused:
                error = BINDING_REFUSED
                message = (
                    f"{service} is connected, but it cannot be used for '{code.slot}' of "
                    f"'{code.instance.name}': {refused}"
                )
                code.result_error = message
                code.save(update_fields=["result_error"])
                logger.warning(
                    "Connect link %s: auth %s not bound to slot %s of instance %s: %s",
                    code.pk,
                    auth.pk,
                    code.slot,
                    code.instance_id,
                    refused,
                )
    outcome = {
        "ok": not error,
        "title": {"": "Connected", BINDING_REFUSED: "Connected, but not for this app"}.get(
            error, "Not connected"
        ),
        "message": message,
        "authentication": auth,
    }
    return_url = txn.return_url
    if (
        return_url
        and not platform_page(txn, return_url)
        and not origin_allowed(allowed_origins=txn.organization.allowed_origins, url=return_url)
    ):
        # Allowed when the link was made, no longer: the end user stays here.
        logger.warning(
            "OAuth transaction %s: return URL origin %s is no longer allowed",
            txn.pk,
            origin_of(return_url)[0],
        )
        outcome["message"] = (
            f"{message} (You were not sent back to the app: its address is no longer one "
            f"{txn.organization.name} allows.)"
        )
        return_url = ""
    if not return_url:
        return ConnectOutcome(**outcome)
    params = {"status": "error", "error": error} if error else {"status": "connected"}
    if auth is not None:
        params["authentication_id"] = str(auth.pk)
    return ConnectOutcome(**outcome, redirect_url=with_query(return_url, params))
