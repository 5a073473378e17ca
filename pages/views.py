"""Member pages: sign-in, account, invitations, API keys. Thin: each view parses a form, calls one
domain function and renders the result; DomainErrors are shown next to the field they name.

Every URL here is scoped to the signed-in person (or public, for signing in); pages/urls.py says
which, and tests/test_tenancy.py lists them.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from infrastructure.errors import DomainError
from pages.forms import ApiKeyCreateForm, InvitationPasswordForm, SignInForm, TimeZoneForm
from pages.time_zones import COOKIE, COOKIE_MAX_AGE
from workspaces import api_key_management, invitations
from workspaces.selectors import may_use_admin, membership_list_for_user, user_api_key_list_for_user

# The backend a person is signed in with after setting their password on an invitation (several
# are configured, so login() must be told).
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _show_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- signing in and out, passwords (Django's views, our templates) ---------------------------------


class SignInView(auth_views.LoginView):
    template_name = "pages/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True
    next_page = "account:home"  # when `next` is missing or not safe (LoginView checks it)


class SignOutView(auth_views.LogoutView):
    next_page = "account:sign-in"

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "pages/password_change.html"
    success_url = reverse_lazy("account:home")

    def form_valid(self, form):
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "pages/password_reset.html"
    email_template_name = "pages/emails/password_reset.txt"
    subject_template_name = "pages/emails/password_reset_subject.txt"
    success_url = reverse_lazy("account:password-reset-sent")


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "pages/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "pages/password_reset_confirm.html"
    success_url = reverse_lazy("account:password-reset-done")


class PasswordResetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "pages/password_reset_done.html"


# --- the member home ---------------------------------------------------------------------------


@login_required
def home(request):
    return render(
        request,
        "pages/home.html",
        {
            "memberships": membership_list_for_user(user=request.user),
            "may_use_admin": may_use_admin(request.user),
            "time_zone_form": TimeZoneForm(
                initial={"time_zone": timezone.get_current_timezone_name()}
            ),
        },
    )


@require_POST
def time_zone(request):
    """Keep the chosen zone in a cookie (pages/time_zones.py) and go back where the form was."""
    form = TimeZoneForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("account:home")
    response = redirect(back)
    if form.is_valid():
        zone = form.cleaned_data["time_zone"]
        response.set_cookie(
            COOKIE, zone, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure()
        )
        messages.success(request, f"Times are now shown in {zone}.")
    else:
        messages.error(request, "Choose a time zone from the list.")
    return response


# --- invitations -------------------------------------------------------------------------------


def _invitation_unusable(request, error):
    response = render(
        request, "pages/invitation_unusable.html", {"message": error.message}, status=404
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def invitation(request, token):
    """/account/invitations/<token>/: a new person chooses a password and is signed in; someone
    with an account signs in, then accepts. A link that cannot be used gets one page, whatever the
    reason."""
    try:
        invite = invitations.invitation_for_token(token=token)
    except invitations.InvitationUnusable as error:
        return _invitation_unusable(request, error)
    context = {"invitation": invite}
    if request.user.is_authenticated:
        context["mode"] = (
            "accept" if request.user.email.lower() == invite.email else "other_account"
        )
        if request.method == "POST" and context["mode"] == "accept":
            try:
                membership = invitations.invitation_accept(token=token, user=request.user)
            except invitations.InvitationUnusable as error:
                return _invitation_unusable(request, error)
            messages.success(request, f"You joined {membership.organization.name}.")
            return redirect("account:home")
        return render(request, "pages/invitation.html", context)
    if invitations.invitation_account_exists(invite):
        context["mode"] = "sign_in"
        return render(request, "pages/invitation.html", context)
    form = InvitationPasswordForm(request.POST or None, initial={"name": invite.name})
    if request.method == "POST" and form.is_valid():
        try:
            membership = invitations.invitation_accept_as_new_person(
                token=token, password=form.cleaned_data["password"], name=form.cleaned_data["name"]
            )
        except invitations.InvitationUnusable as error:
            return _invitation_unusable(request, error)
        except DomainError as error:
            _show_error(form, error)
        else:
            login(request, membership.user, backend=PASSWORD_BACKEND)
            messages.success(
                request,
                f"Welcome to {membership.organization.name}. You are signed in as "
                f"{membership.user.email}.",
            )
            return redirect("account:home")
    context.update(mode="new_person", form=form)
    return render(request, "pages/invitation.html", context)


# --- API keys ----------------------------------------------------------------------------------


def _api_keys_page(request, form, status=200):
    keys = user_api_key_list_for_user(user=request.user).order_by("-created")
    return render(request, "pages/api_keys.html", {"keys": keys, "form": form}, status=status)


@login_required
def api_keys(request):
    return _api_keys_page(request, ApiKeyCreateForm())


@login_required
@require_POST
def api_key_create(request):
    """The new key is shown on the answer to this POST and nowhere else: it is not stored in the
    session or anywhere in plaintext, and the page is not cached."""
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        try:
            key_obj, key = api_key_management.user_api_key_create(
                user=request.user, name=form.cleaned_data["name"]
            )
        except DomainError as error:
            _show_error(form, error)
        else:
            response = render(
                request, "pages/api_key_created.html", {"key_obj": key_obj, "key": key}
            )
            response["Cache-Control"] = "no-store"
            return response
    return _api_keys_page(request, form, status=400)


@login_required
@require_POST
def api_key_revoke(request, prefix):
    key = get_object_or_404(
        user_api_key_list_for_user(user=request.user), prefix=prefix, revoked=False
    )
    api_key_management.api_key_revoke(key=key)
    messages.success(request, f"The key “{key.name}” ({key.prefix}…) is revoked.")
    return redirect("account:api-keys")
