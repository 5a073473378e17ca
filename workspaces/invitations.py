"""Invitations: how a person becomes a member of an organization.

An owner or admin (or an organization API key) invites an email address with a role; the person
gets an email with a link to /account/invitations/<token>/. There a new person sets their password
and is signed in; someone who already has an account signs in and accepts. The membership (with
its personal workspace) is made at that moment, never before, so nobody is a member of an
organization they did not agree to join, and no account exists for an address that never answered.

The token is 256 random bits, sent once by email; only its SHA-256 is stored. A link works once,
for INVITATION_VALID_DAYS days, and inviting the same address again replaces it. A link that cannot
be used (unknown, used, expired, replaced) gets one answer, InvitationUnusable, whatever the reason.
"""

import hashlib
import logging
import secrets
import smtplib
from datetime import UTC, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from infrastructure.errors import NotAllowed, NotFound, RuleViolation, UpstreamError
from infrastructure.text import name_check, single_line
from workspaces.access import Actor, require_owner_or_admin
from workspaces.members import membership_create, require_may_grant
from workspaces.models import Invitation, Membership, OrgRole, User

logger = logging.getLogger(__name__)

# Longer tokens than ours are not ours: refused before hashing.
TOKEN_MAX_LENGTH = 100

UNUSABLE = (
    "This invitation link cannot be used. An invitation link works once, for "
    "{days} days, and only the newest invitation to an address works. If you already accepted it, "
    "sign in; otherwise ask the person who invited you to send a new invitation."
)


class InvitationUnusable(NotFound):
    """The link is unknown, used, expired or replaced: one answer for all of them, so a link says
    nothing about invitations it does not open."""

    code = "invitation_unusable"

    def __init__(self):
        super().__init__(UNUSABLE.format(days=settings.INVITATION_VALID_DAYS))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(*, base_url: str, token: str) -> str:
    return base_url.rstrip("/") + reverse("account:invitation", kwargs={"token": token})


def invitation_status(invitation: Invitation) -> str:
    """pending, accepted, replaced or expired: for the admin and the API."""
    if invitation.accepted_at:
        return "accepted"
    if invitation.revoked_at:
        return "replaced"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "pending"


def _email_content(invitation: Invitation, link: str) -> tuple[str, str]:
    organization = invitation.organization
    inviter = invitation.invited_by
    who = f"{inviter.name or inviter.email} invited you" if inviter else "You are invited"
    expires = invitation.expires_at.astimezone(UTC)
    # Names go into a header: one line, whatever they hold (infrastructure/text.py).
    subject = single_line(f"Invitation to join {organization.name}")
    body = (
        f"{single_line(who)} to join {single_line(organization.name)} on the Connect platform, "
        f"with the role {invitation.get_role_display().lower()}.\n\n"
        f"Open this link to accept. It works once, until {expires:%Y-%m-%d %H:%M} UTC:\n\n"
        f"{link}\n\n"
        "If you have no account yet, you will choose your password there. If you did not expect "
        "this invitation, ignore this email: nothing happens unless the link is used.\n"
    )
    return subject, body


@transaction.atomic
def member_invite(
    *,
    actor: Actor,
    email: str,
    base_url: str,
    role: str = OrgRole.CONTRIBUTOR,
    name: str = "",
) -> Invitation:
    """Invite a person by email to join the actor's organization with `role`, and email them the
    link (built on `base_url`, the address they reach the site at). Inviting an address again
    replaces its earlier invitation. A deactivated member is invited like anyone else; accepting
    makes them active again with the new role. Nothing is saved when the email cannot be sent."""
    require_owner_or_admin(actor, "invite members")
    require_may_grant(actor, role)
    name_check(name, what="A person's name")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise RuleViolation("Enter a valid email address.", field="email") from None
    organization = actor.organization
    if Membership.objects.filter(
        organization=organization, user__email__iexact=email, is_active=True
    ).exists():
        raise RuleViolation(f"{email} is already a member.", field="email")
    now = timezone.now()
    Invitation.objects.filter(
        organization=organization, email=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        name=name,
        role=role,
        token_hash=_token_hash(token),
        invited_by=actor.user,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    subject, body = _email_content(invitation, invitation_link(base_url=base_url, token=token))
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("Invitation email to %s not sent: %s", email, error)
        # Raised inside the transaction: the invitation is not kept, so no dead link exists.
        raise UpstreamError(
            f"The invitation email could not be sent ({type(error).__name__}), so no invitation "
            "was made. Check the platform's email settings (EMAIL_HOST, EMAIL_PORT) and invite "
            "again.",
            field="email",
        ) from None
    return invitation


def _find(token: str, *, lock: bool) -> Invitation:
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise InvitationUnusable()
    rows = Invitation.objects.select_related("organization", "invited_by")
    if lock:
        # Two tabs accepting at once: the second waits, then finds it used.
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(token_hash=_token_hash(token)).first()
    if invitation is None or invitation_status(invitation) != "pending":
        raise InvitationUnusable()
    return invitation


def invitation_for_token(*, token: str) -> Invitation:
    """The invitation a link opens, if it can still be used; else InvitationUnusable."""
    return _find(token, lock=False)


def invitation_account_exists(invitation: Invitation) -> bool:
    """Whether the invited address already has an account with a password (then the person signs
    in to accept; otherwise they choose a password on the invitation page)."""
    user = User.objects.filter(email__iexact=invitation.email).first()
    return user is not None and user.has_usable_password()


def _join(invitation: Invitation, user: User) -> Membership:
    membership = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if membership is None:
        membership = membership_create(
            organization=invitation.organization, user=user, role=invitation.role
        )
    elif not membership.is_active:
        membership.is_active = True
        membership.role = invitation.role
        membership.save(update_fields=["is_active", "role"])
    # Else they became a member some other way meanwhile: the link is used up, their role stays.
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """A signed-in person accepts an invitation to their own address."""
    invitation = _find(token, lock=True)
    if user.email.lower() != invitation.email:
        raise NotAllowed(
            f"This invitation is for another email address; you are signed in as {user.email}. "
            "Sign out, then open the link again."
        )
    return _join(invitation, user)


@transaction.atomic
def invitation_accept_as_new_person(*, token: str, password: str, name: str = "") -> Membership:
    """Someone without an account (or with an account that never had a password) accepts: their
    account gets `password` (checked by AUTH_PASSWORD_VALIDATORS) and `name`."""
    invitation = _find(token, lock=True)
    name = name_check((name or "").strip(), what="Your name")
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is not None and user.has_usable_password():
        raise RuleViolation(
            f"An account for {invitation.email} exists already: sign in to accept the invitation."
        )
    if user is not None and not user.is_active:
        raise RuleViolation(
            "This account is deactivated; ask the platform's administrator to reactivate it."
        )
    candidate = user or User(email=invitation.email, name=name)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        raise RuleViolation(" ".join(error.messages), field="password") from None
    if user is None:
        user = User.objects.create_user(email=invitation.email, password=password, name=name)
    else:
        user.set_password(password)
        user.name = name or user.name
        user.save(update_fields=["password", "name"])
    return _join(invitation, user)
