"""The config wizard and the auth-only dialog, for end users: plain functions the pages call
(pages/wizard_views.py renders them).

**Session.** An end user arrives with a one-time authorization code (purpose `wizard`,
embedded/codes.py) on the address of one page: a solution's wizard (a new instance), an instance's
wizard (edit, upgrade) or the auth dialog of one slot or service. wizard_session_start uses the
code up, checks that it fits that page (same organization; the solution or instance it is bound to,
if any; the end user's own instance and auths) and opens a WizardSession: a random token (its
SHA-256 stored) for the page's cookie, valid EMBEDDED_WIZARD_SESSION_MINUTES, reaching that page
and its actions only (`home_path`). It acts as the end user (workspaces.access.actor_for_end_user):
every read and write goes through the same scoped selectors and domain functions as the API, so it
sees their own auths and instances and nothing else. It is not a Django session: it signs nobody
in, and the API does not know it.

**Wizard.** wizard_screens lays out the release's screens in the builder's order: for each visible
auth slot, the end user's auths of its service that cover its scopes (or, for a force-unique slot,
only those made in this session and the one already bound), and for each config slot its
definition and current value. The answers are kept in the session's draft until wizard_save gives
them to instance_create (a new instance, disabled) or instance_update, which check everything
again. Sign-ins started in a popup are recorded as pending and picked up once the provider answered
(wizard_pending_resolve).

**Dialog.** One auth, created or re-authenticated in place (it keeps its id and bindings), through
the same flows; with a code bound to an instance, a new auth is also bound to the slot named.

Every refusal an end user can meet is a WizardRefused (a page that says why) or a RuleViolation
naming the field to fix.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auths.models import Authentication, OAuthTransaction
from auths.selectors import authentication_list_for_actor
from connections.browser_flows import is_browser_flow, oauth_authorization_start
from connections.client_credentials import authentication_create_client_credentials
from connections.connection import authentication_warnings
from connections.password_grant import authentication_create_password
from connections.reauthentication import authentication_reauthenticate
from connections.token_auth import authentication_create_token
from connections.transactions import AuthorizationStart
from embedded.access import require_embedded
from embedded.codes import CodeRefused, authorization_code_redeem, code_digest
from embedded.instances import instance_create, instance_update
from embedded.models import (
    AuthorizationCode,
    CodePurpose,
    InstanceAuth,
    Release,
    Solution,
    SolutionInstance,
    WizardPage,
    WizardSession,
)
from embedded.selectors import instance_list_for_actor
from embedded.solutions import latest_release
from infrastructure.errors import DomainError, NotAllowed, RuleViolation
from infrastructure.ids import uuid_or_none
from projects.config_values import config_values_clean
from services.models import AuthScheme, GrantType, Service
from services.selectors import service_list_for_actor
from workspaces.access import Actor, actor_for_end_user
from workspaces.models import EndUser, Organization

# The dialog's draft keys its one connection under this name (the wizard under slot ids).
DIALOG = "dialog"
# The messages the pages post to the embedding page (docs/embedded.md has the contract).
MESSAGE_TYPES = {
    "configured": "instance.configured",
    "wizard_close": "wizard.close",
    "wizard_error": "wizard.error",
    "auth_finish": "auth.finish",
    "auth_close": "auth.close",
    "auth_error": "auth.error",
}


def session_lifetime() -> timedelta:
    return timedelta(minutes=settings.EMBEDDED_WIZARD_SESSION_MINUTES)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WizardRefused(NotAllowed):
    """The page cannot be shown to this visitor; the message says why and what to do. `title`
    heads the page."""

    code = "wizard_refused"

    def __init__(self, message: str, *, title: str = "This page cannot be opened", **kwargs):
        super().__init__(message, **kwargs)
        self.title = title


def _ask_again(what: str) -> WizardRefused:
    return WizardRefused(f"{what} Ask the app that sent you here to open it again.")


# --- where the end user arrived ------------------------------------------------------------------


@dataclass(frozen=True)
class WizardAddress:
    """What the address of the page names (its URL), before anything is looked up."""

    organization_slug: str
    page: str  # WizardPage
    solution_id: uuid.UUID | None = None
    instance_id: uuid.UUID | None = None
    # The dialog: an auth slot's external id or a service's id, and ?authentication=<id>.
    target: str = ""
    authentication_id: str = ""


def _code_release(code: AuthorizationCode) -> Release | None:
    """The release whose slots a bound code opens (the instance's, or the latest of its
    solution's); None for an unbound code."""
    if code.instance_id:
        instance = code.instance
        return latest_release(instance.solution) if instance.needs_upgrade else instance.release
    if code.solution_id:
        return latest_release(code.solution)
    return None


def _visible_auth_slots(release: Release) -> dict[str, dict]:
    return {
        slot["external_id"]: slot
        for slot in release.snapshot["auth_slots"]
        if not slot["static_authentication"]
    }


def _bind_wizard(actor: Actor, code: AuthorizationCode, address: WizardAddress) -> dict:
    if address.solution_id is not None:
        if code.instance_id:
            raise _ask_again(
                "This code opens the settings of an integration you already set up, not a new one."
            )
        if code.solution_id and code.solution_id != address.solution_id:
            raise _ask_again("This code was issued for another integration.")
        solution = Solution.objects.filter(
            organization=actor.organization, pk=address.solution_id
        ).first()
        if solution is None:
            raise _ask_again("This integration does not exist (any more).")
        release = latest_release(solution)
        if release is None:
            raise _ask_again(f"'{solution.name}' is not available yet.")
        config = config_values_clean(
            slots=release.snapshot["config_slots"], values={}, partial=True
        )
        return {"solution": solution, "draft": {"config": config}}
    instance = instance_list_for_actor(actor=actor).filter(pk=address.instance_id).first()
    if instance is None:
        raise _ask_again("This integration does not exist, or it is not yours.")
    if code.instance_id and code.instance_id != instance.pk:
        raise _ask_again("This code was issued for another of your integrations.")
    if code.solution_id and code.solution_id != instance.solution_id:
        raise _ask_again("This code was issued for another integration.")
    bound = {
        binding.slot: str(binding.authentication_id)
        for binding in InstanceAuth.objects.filter(instance=instance)
    }
    return {
        "solution": instance.solution,
        "instance": instance,
        "draft": {"auths": bound, "config": dict(instance.config_values or {})},
    }


def _bind_dialog(actor: Actor, code: AuthorizationCode, address: WizardAddress) -> dict:
    release = _code_release(code)
    services = service_list_for_actor(actor=actor)
    slot, service = "", None
    if release is not None:
        slots = _visible_auth_slots(release)
        if address.target in slots:
            slot = address.target
            service = services.filter(pk=slots[slot]["service"]).first()
        elif uuid_or_none(address.target) and any(
            s["service"] == str(uuid_or_none(address.target)) for s in slots.values()
        ):
            service = services.filter(pk=uuid_or_none(address.target)).first()
    elif uuid_or_none(address.target):
        service = services.filter(pk=uuid_or_none(address.target)).first()
    if service is None:
        raise _ask_again(f"There is nothing to connect called '{address.target[:100]}' here.")
    authentication = None
    if address.authentication_id:
        authentication = (
            authentication_list_for_actor(actor=actor)
            .filter(pk=uuid_or_none(address.authentication_id))
            .first()
            if uuid_or_none(address.authentication_id)
            else None
        )
        if authentication is None:
            raise _ask_again("The connection to renew does not exist, or it is not yours.")
        if authentication.service_id != service.pk:
            raise _ask_again(f"The connection to renew is not a {service.name} connection.")
    return {
        "solution": code.solution,
        "instance": code.instance if slot else None,
        "slot": slot,
        "service": service,
        "authentication": authentication,
        "draft": {},
    }


def wizard_organization(slug: str) -> Organization | None:
    """The organization whose end-user pages are at `slug`, on the embedded edition; None
    otherwise. Read before anyone is known, for what every answer of those pages needs: who may
    frame them (its allowed origins) and its branding. Nothing else of it is shown."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None or not organization.has_embedded:
        return None
    return organization


def wizard_session_start(
    *, raw_code: str, address: WizardAddress, home_path: str, now: datetime | None = None
) -> tuple[WizardSession, str]:
    """Exchange the code for a session on the page at `home_path`; returns the session and the
    raw token for its cookie (shown once, stored hashed). The code is used up first, whatever
    follows: an unknown, used or expired code, one of another organization, or one that does not
    fit this page is refused (WizardRefused) and cannot be tried again."""
    now = now or timezone.now()
    try:
        code = authorization_code_redeem(raw_code=raw_code, purpose=CodePurpose.WIZARD, now=now)
    except CodeRefused as refused:
        raise WizardRefused(refused.message, title="This link cannot be used") from None
    if code.organization.slug != address.organization_slug:
        raise WizardRefused(
            "This code was issued by another organization's app: a code opens only the pages of "
            "the organization that issued it, and this page belongs to another one. Ask the app "
            "that sent you here for a new link.",
            title="This link is for another organization",
        )
    actor = actor_for_end_user(code.end_user)
    try:
        require_embedded(actor)
    except DomainError as refusal:
        raise WizardRefused(refusal.message) from None
    if address.page == WizardPage.WIZARD:
        bound = _bind_wizard(actor, code, address)
    else:
        bound = _bind_dialog(actor, code, address)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Ended sessions of this organization go: a session row is only needed while it lasts.
        WizardSession.objects.filter(organization=code.organization, expires_at__lt=now).delete()
        session = WizardSession.objects.create(
            organization=code.organization,
            end_user=code.end_user,
            code=code,
            token_hash=_digest(token),
            page=address.page,
            home_path=home_path,
            expires_at=now + session_lifetime(),
            **bound,
        )
    return session, token


def wizard_session_get(*, raw_token: str, path: str, now: datetime | None = None) -> WizardSession:
    """The session a cookie's token names, if it is still valid and `path` is its page (or one of
    that page's actions); WizardRefused otherwise."""
    now = now or timezone.now()
    session = None
    if isinstance(raw_token, str) and 0 < len(raw_token) <= 100:
        session = (
            WizardSession.objects.select_related(
                "organization", "end_user__organization", "solution", "instance", "service", "code"
            )
            .filter(token_hash=_digest(raw_token), expires_at__gt=now)
            .first()
        )
    if session is None or not path.startswith(session.home_path):
        minutes = settings.EMBEDDED_WIZARD_SESSION_MINUTES
        raise WizardRefused(
            f"Your session on this page has ended (it lasts {minutes} minutes from the link) or "
            "was never opened in this browser. Ask the app that sent you here to open it again.",
            title="This page has expired",
        )
    try:
        require_embedded(session_actor(session))
    except DomainError as refusal:
        raise WizardRefused(refusal.message) from None
    return session


def wizard_session_resume(*, raw_token: str, raw_code: str, path: str) -> WizardSession | None:
    """The session this browser already has on this page, if it was opened with this very code:
    the page's address loaded again (a frame its page re-rendered) goes on instead of meeting a
    used code. Any other code is exchanged as usual: a new end user in the same browser never
    continues someone else's session."""
    try:
        session = wizard_session_get(raw_token=raw_token, path=path)
    except WizardRefused:
        return None
    if session.code_id is None or not isinstance(raw_code, str) or len(raw_code) > 100:
        return None
    if not secrets.compare_digest(session.code.code_hash, code_digest(raw_code)):
        return None
    return session


def session_actor(session: WizardSession) -> Actor:
    return actor_for_end_user(session.end_user)


# --- the wizard's screens ------------------------------------------------------------------------


def wizard_release(session: WizardSession) -> Release:
    """The release the wizard asks about: an instance's own, or the latest when it waits for an
    upgrade (instance_update edits it against that one); a new instance's solution's latest."""
    instance = session.instance
    if instance is not None:
        instance.refresh_from_db(fields=["needs_upgrade", "release"])
        return latest_release(instance.solution) if instance.needs_upgrade else instance.release
    release = latest_release(session.solution)
    if release is None:
        raise _ask_again("This integration is not available any more.")
    return release


@dataclass
class AuthStep:
    """An auth slot on a screen: pick one of `choices` or connect a new account."""

    slot: dict
    service: Service | None
    choices: list[Authentication]
    chosen: str | None = None
    pending: bool = False
    error: str = ""

    kind = "auth"

    @property
    def external_id(self) -> str:
        return self.slot["external_id"]

    @property
    def force_unique(self) -> bool:
        return bool(self.slot["force_unique"])

    @property
    def connect_kind(self) -> str:
        return connect_form_kind(self.service) if self.service is not None else ""

    @property
    def warnings(self) -> list[str]:
        """A discouraged scheme is said where the end user chooses it (DESIGN: visible warning)."""
        return authentication_warnings(self.service) if self.service is not None else []


@dataclass
class ConfigStep:
    """A config slot on a screen: its definition (type, required, default, choices, pattern,
    help text) and the value the draft holds."""

    slot: dict
    value: object = None
    kind = "config"

    @property
    def external_id(self) -> str:
        return self.slot["external_id"]


@dataclass
class Screen:
    title: str
    steps: list[AuthStep | ConfigStep] = field(default_factory=list)

    @property
    def auth_steps(self) -> list[AuthStep]:
        return [s for s in self.steps if isinstance(s, AuthStep)]

    @property
    def config_steps(self) -> list[ConfigStep]:
        return [s for s in self.steps if isinstance(s, ConfigStep)]


def _covers(auth: Authentication, slot: dict) -> bool:
    return set(slot["scopes"]) <= set(auth.scopes or [])


def auth_choices(
    *,
    end_user: EndUser,
    slot: dict,
    instance: SolutionInstance | None = None,
    created: list[str] = (),
) -> list[Authentication]:
    """The end user's auths that can serve `slot`: of its service, with its scopes. A
    force-unique slot offers none of the existing ones: only those made for it in this session
    (`created`) and the one already bound to this instance."""
    auths = authentication_list_for_actor(actor=actor_for_end_user(end_user)).filter(
        service_id=slot["service"]
    )
    if slot["force_unique"]:
        keep = set(created)
        if instance is not None:
            keep |= {
                str(pk)
                for pk in InstanceAuth.objects.filter(
                    instance=instance, slot=slot["external_id"]
                ).values_list("authentication_id", flat=True)
            }
        auths = auths.filter(pk__in=[uuid_or_none(pk) for pk in keep if uuid_or_none(pk)])
    return [auth for auth in auths if _covers(auth, slot)]


def wizard_screens(
    *,
    release: Release,
    end_user: EndUser,
    instance: SolutionInstance | None = None,
    draft: dict | None = None,
) -> list[Screen]:
    """The release's screens in the builder's order (hidden and static slots are on none), each
    slot with what the end user can choose and what the draft holds."""
    draft = draft or {}
    actor = actor_for_end_user(end_user)
    auth_slots = {s["external_id"]: s for s in release.snapshot["auth_slots"]}
    config_slots = {s["external_id"]: s for s in release.snapshot["config_slots"]}
    services = {
        str(s.pk): s
        for s in service_list_for_actor(actor=actor).filter(
            pk__in=[s["service"] for s in auth_slots.values()]
        )
    }
    chosen = draft.get("auths") or {}
    pending = draft.get("pending") or {}
    errors = draft.get("errors") or {}
    config = draft.get("config") or {}
    screens = []
    for layout in release.snapshot.get("screens") or []:
        screen = Screen(title=layout["title"])
        for external_id in layout["slots"]:
            if external_id in auth_slots:
                slot = auth_slots[external_id]
                if slot["static_authentication"]:
                    continue
                choices = auth_choices(
                    end_user=end_user,
                    slot=slot,
                    instance=instance,
                    created=draft.get("created") or [],
                )
                picked = chosen.get(external_id)
                screen.steps.append(
                    AuthStep(
                        slot=slot,
                        service=services.get(slot["service"]),
                        choices=choices,
                        chosen=picked if picked in {str(a.pk) for a in choices} else None,
                        pending=external_id in pending,
                        error=errors.get(external_id, ""),
                    )
                )
            elif external_id in config_slots:
                slot = config_slots[external_id]
                screen.steps.append(ConfigStep(slot=slot, value=config.get(external_id)))
        if screen.steps:
            screens.append(screen)
    return screens


def session_screens(session: WizardSession) -> list[Screen]:
    return wizard_screens(
        release=wizard_release(session),
        end_user=session.end_user,
        instance=session.instance,
        draft=session.draft,
    )


# --- answers -------------------------------------------------------------------------------------


def _locked(session: WizardSession) -> WizardSession:
    locked = WizardSession.objects.select_for_update().get(pk=session.pk)
    if locked.finished_at is not None:
        raise WizardRefused(
            "This setup is already finished. Ask the app that sent you here to open it again to "
            "change something.",
            title="Already finished",
        )
    return locked


def wizard_choose_auths(*, session: WizardSession, screen: Screen, choices: dict) -> dict:
    """Record the auth picked for each auth slot of `screen` (`choices`: external id → auth id).
    Returns {external_id: why} for the slots left without a usable auth (nothing is recorded
    then)."""
    errors = {}
    picked = {}
    for step in screen.auth_steps:
        value = str(choices.get(step.external_id) or "")
        if value not in {str(auth.pk) for auth in step.choices}:
            errors[step.external_id] = (
                f"Choose a {step.slot['service_name']} account for '{step.slot['title']}', or "
                "connect a new one."
            )
        else:
            picked[step.external_id] = value
    if errors:
        return errors
    with transaction.atomic():
        locked = _locked(session)
        draft = dict(locked.draft)
        draft["auths"] = {**(draft.get("auths") or {}), **picked}
        draft["errors"] = {k: v for k, v in (draft.get("errors") or {}).items() if k not in picked}
        locked.draft = draft
        locked.save(update_fields=["draft"])
    session.draft = draft
    return {}


def config_errors(*, slots: list[dict], values: dict) -> dict:
    """{external_id: why} for each value the slots refuse (required and missing, wrong type, not
    one of the choices, not matching the pattern), each message naming the slot's title."""
    errors = {}
    for slot in slots:
        value = values.get(slot["external_id"])
        try:
            config_values_clean(
                slots=[slot],
                values={} if value is None else {slot["external_id"]: value},
                partial=False,
            )
        except RuleViolation as refusal:
            errors[slot["external_id"]] = refusal.message
    return errors


def wizard_configure(*, session: WizardSession, screen: Screen, values: dict) -> dict:
    """Record the config values of `screen` (None: no value; the slot's default applies). Returns
    {external_id: why} for the refused ones (nothing is recorded then)."""
    slots = [step.slot for step in screen.config_steps]
    given = {s["external_id"]: values.get(s["external_id"]) for s in slots}
    errors = config_errors(slots=slots, values=given)
    if errors:
        return errors
    with transaction.atomic():
        locked = _locked(session)
        draft = dict(locked.draft)
        config = {**(draft.get("config") or {}), **given}
        draft["config"] = {k: v for k, v in config.items() if v is not None}
        locked.draft = draft
        locked.save(update_fields=["draft"])
    session.draft = draft
    return {}


# --- connecting an account -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectTarget:
    """What a connection made on the page is for: a new auth of `service` with `scopes`, or the
    re-authentication of `authentication`. `title`: the auth slot's (empty for a service)."""

    key: str
    service: Service
    scopes: list[str] | None
    title: str
    authentication: Authentication | None = None


def connect_target(session: WizardSession, slot: str | None = None) -> ConnectTarget:
    """The wizard: the auth slot `slot` of the release. The dialog: its slot or service, and the
    auth it re-authenticates."""
    actor = session_actor(session)
    if session.page == WizardPage.AUTH_DIALOG:
        scopes, title = None, ""
        if session.slot:
            release = wizard_release(session)
            found = _visible_auth_slots(release).get(session.slot) or {}
            scopes, title = found.get("scopes") or None, found.get("title", "")
        service = service_list_for_actor(actor=actor).filter(pk=session.service_id).first()
        if service is None:
            raise _ask_again("This service is not available any more.")
        auth = None
        if session.authentication_id:
            auth = (
                authentication_list_for_actor(actor=actor)
                .filter(pk=session.authentication_id)
                .first()
            )
            if auth is None:
                raise _ask_again("The connection to renew does not exist any more.")
        return ConnectTarget(
            key=DIALOG,
            service=service,
            scopes=scopes,
            title=title,
            authentication=auth,
        )
    found = _visible_auth_slots(wizard_release(session)).get(slot or "")
    if found is None:
        raise RuleViolation(f"There is no account to connect for '{slot}' here.", field="slot")
    service = service_list_for_actor(actor=actor).filter(pk=found["service"]).first()
    if service is None:
        raise _ask_again(f"{found['service_name']} is not available any more.")
    return ConnectTarget(
        key=found["external_id"],
        service=service,
        scopes=found["scopes"] or None,
        title=found["title"],
    )


def connect_form_kind(service: Service) -> str:
    """What the page asks for to connect `service`: `browser` (the provider's consent, in a popup
    or a redirect), `token` (an API key, or a user name and password for HTTP Basic), `password`
    (the OAuth 2.0 password grant: the account's user name and password) or `exchange` (client
    credentials: nothing but the service's parameters)."""
    if is_browser_flow(service):
        return "browser"
    if service.auth_scheme == AuthScheme.TOKEN:
        return "token"
    if service.grant_type == GrantType.PASSWORD:
        return "password"
    return "exchange"


def wizard_connect(
    *, session: WizardSession, slot: str | None, inputs: dict, base_url: str, return_url: str
) -> Authentication | AuthorizationStart:
    """Connect an account for the wizard's auth `slot` (or the dialog's one auth) as the end user,
    through the flow of the service's scheme. `inputs`: {"credentials": {...}, "username",
    "password", "parameters": {...}}. A form flow returns the auth, recorded as the slot's choice;
    a browser flow returns the start (send the browser, or a popup, to its authorize_url) and is
    recorded as pending: the provider sends the browser to `return_url` afterwards, and
    wizard_pending_resolve picks the auth up."""
    target = connect_target(session, slot)
    actor = session_actor(session)
    service = target.service
    parameters = inputs.get("parameters") or None
    if target.authentication is not None:
        result = authentication_reauthenticate(
            actor=actor,
            authentication=target.authentication,
            inputs={
                "credentials": inputs.get("credentials") or {},
                "username": inputs.get("username") or "",
                "password": inputs.get("password") or "",
                "parameters": parameters,
            },
            base_url=base_url,
            return_url=return_url,
        )
    elif is_browser_flow(service):
        result = oauth_authorization_start(
            actor=actor,
            service=service,
            scopes=target.scopes,
            parameters=parameters,
            base_url=base_url,
            return_url=return_url,
        )
    elif service.auth_scheme == AuthScheme.TOKEN:
        result = authentication_create_token(
            actor=actor,
            service=service,
            credentials=inputs.get("credentials") or {},
            parameters=parameters,
        )
    elif service.grant_type == GrantType.PASSWORD:
        result = authentication_create_password(
            actor=actor,
            service=service,
            username=inputs.get("username") or "",
            password=inputs.get("password") or "",
            scopes=target.scopes,
            parameters=parameters,
        )
    else:
        result = authentication_create_client_credentials(
            actor=actor, service=service, scopes=target.scopes, parameters=parameters
        )
    with transaction.atomic():
        locked = _locked(session)
        draft = dict(locked.draft)
        errors = dict(draft.get("errors") or {})
        errors.pop(target.key, None)
        pending = dict(draft.get("pending") or {})
        if isinstance(result, AuthorizationStart):
            pending[target.key] = str(result.transaction.pk)
        else:
            pending.pop(target.key, None)
            _record_auth(draft, target.key, result)
        draft.update(pending=pending, errors=errors)
        locked.draft = draft
        locked.save(update_fields=["draft"])
    session.draft = draft
    return result


def _record_auth(draft: dict, key: str, auth: Authentication) -> None:
    draft["auths"] = {**(draft.get("auths") or {}), key: str(auth.pk)}
    draft["created"] = sorted({*(draft.get("created") or []), str(auth.pk)})


def wizard_pending_resolve(*, session: WizardSession, now: datetime | None = None) -> dict:
    """Pick up the sign-ins the provider answered since they were started (in a popup, or by a
    redirect): a new auth becomes the slot's choice; a refusal is kept as the slot's error. Only
    this end user's transactions are read. Returns the draft's errors ({key: why})."""
    pending = (session.draft or {}).get("pending") or {}
    if not pending:
        return (session.draft or {}).get("errors") or {}
    now = now or timezone.now()
    ids = [uuid_or_none(value) for value in pending.values() if uuid_or_none(value)]
    transactions = {
        str(txn.pk): txn
        for txn in OAuthTransaction.objects.filter(
            pk__in=ids, organization=session.organization, end_user=session.end_user
        ).select_related("service")
    }
    with transaction.atomic():
        locked = WizardSession.objects.select_for_update().get(pk=session.pk)
        draft = dict(locked.draft)
        still = dict(draft.get("pending") or {})
        errors = dict(draft.get("errors") or {})
        for key, txn_id in pending.items():
            txn = transactions.get(txn_id)
            if txn is None:
                still.pop(key, None)
            elif txn.result_authentication_id:
                still.pop(key, None)
                errors.pop(key, None)
                _record_auth(draft, key, txn.result_authentication)
            elif txn.used_at is not None:
                still.pop(key, None)
                errors[key] = txn.result_error or f"{txn.service.name} is not connected."
            elif txn.expires_at <= now:
                still.pop(key, None)
                errors[key] = (
                    f"The sign-in at {txn.service.name} was not finished in time; connect again."
                )
        draft.update(pending=still, errors=errors)
        locked.draft = draft
        locked.save(update_fields=["draft"])
    session.draft = draft
    return errors


# --- finishing -----------------------------------------------------------------------------------


def _finish(locked: WizardSession, result: dict, **fields) -> WizardSession:
    locked.result = result
    locked.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["result", "finished_at", *fields])
    return locked


def wizard_save(*, session: WizardSession) -> SolutionInstance:
    """Save the answers: a new instance of the solution (disabled, as instance_create leaves it)
    or the instance edited (instance_update; an upgrade completes there). Every auth slot on a
    screen needs an auth and every config value is checked again; a refusal names the slot
    (`auths.<external_id>` or `config_values.<external_id>`). Finishing twice (a double click)
    saves once."""
    actor = session_actor(session)
    with transaction.atomic():
        locked = WizardSession.objects.select_for_update().get(pk=session.pk)
        if locked.finished_at is not None and locked.instance_id and locked.result:
            if locked.result.get("type") == MESSAGE_TYPES["configured"]:
                return locked.instance
        locked = _locked(session)
        screens = wizard_screens(
            release=wizard_release(locked),
            end_user=locked.end_user,
            instance=locked.instance,
            draft=locked.draft,
        )
        auth_values = []
        for screen in screens:
            for step in screen.auth_steps:
                if step.chosen is None:
                    raise RuleViolation(
                        f"Choose a {step.slot['service_name']} account for "
                        f"'{step.slot['title']}', or connect a new one.",
                        field=f"auths.{step.external_id}",
                    )
                auth_values.append(
                    {"external_id": step.external_id, "authentication_id": step.chosen}
                )
        config_slots = [s.slot for screen in screens for s in screen.config_steps]
        config = locked.draft.get("config") or {}
        values = {s["external_id"]: config.get(s["external_id"]) for s in config_slots}
        errors = config_errors(slots=config_slots, values=values)
        if errors:
            external_id, message = next(iter(errors.items()))
            raise RuleViolation(message, field=f"config_values.{external_id}")
        if locked.instance_id:
            instance = instance_update(
                actor=actor,
                instance=locked.instance,
                config_values=values,
                auth_values=auth_values,
            )
        else:
            instance = instance_create(
                actor=actor,
                solution=locked.solution,
                end_user=locked.end_user,
                config_values={k: v for k, v in values.items() if v is not None},
                auth_values=auth_values,
            )
        _finish(
            locked,
            {"type": MESSAGE_TYPES["configured"], "instance_id": str(instance.pk)},
            instance=instance,
        )
    session.instance, session.finished_at = instance, locked.finished_at
    return instance


def wizard_cancel(*, session: WizardSession) -> dict:
    """The end user gave up: nothing is saved; the page tells the embedding page."""
    kind = "wizard_close" if session.page == WizardPage.WIZARD else "auth_close"
    with transaction.atomic():
        locked = _locked(session)
        _finish(locked, {"type": MESSAGE_TYPES[kind]})
    session.finished_at, session.result = locked.finished_at, locked.result
    return locked.result


def auth_dialog_finish(*, session: WizardSession) -> dict | None:
    """Once the dialog's auth exists (a form flow, or the provider answered): finish with
    `auth.finish` and its id; with a code bound to an instance, bind it to the slot first (every
    check of embedded/instances.py applies: a refusal finishes with `auth.error`). None while
    nothing is connected yet."""
    auth_id = ((session.draft or {}).get("auths") or {}).get(DIALOG)
    if not auth_id:
        return None
    with transaction.atomic():
        locked = _locked(session)
        result = {"type": MESSAGE_TYPES["auth_finish"], "authentication_id": auth_id}
        if locked.instance_id and locked.slot and locked.authentication_id is None:
            try:
                instance_update(
                    actor=session_actor(locked),
                    instance=locked.instance,
                    auth_values=[{"external_id": locked.slot, "authentication_id": auth_id}],
                )
            except DomainError as refusal:
                result = {
                    "type": MESSAGE_TYPES["auth_error"],
                    "message": f"Connected, but it cannot be used here: {refusal.message}",
                    "authentication_id": auth_id,
                }
        _finish(locked, result)
    session.finished_at, session.result = locked.finished_at, locked.result
    return result
