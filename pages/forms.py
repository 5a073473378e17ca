"""Forms of the member pages. They parse input; the domain functions decide (their DomainError is
shown next to the field it names, see pages/views.py: _show_error)."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from pages.time_zones import known_zones


class SignInForm(AuthenticationForm):
    """Django's sign-in form (authenticate() with the request, so django-axes counts failures),
    worded for people who sign in with their email address."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "The email address or the password is wrong. Check both and try again, or reset "
            "your password."
        ),
        "inactive": "This account is deactivated. Ask your organization's owner.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True}
        )


class InvitationPasswordForm(forms.Form):
    """A new person accepting an invitation: their name and password (checked by the password
    validators in workspaces/invitations.py)."""

    name = forms.CharField(
        max_length=200,
        required=False,
        label="Your name",
        help_text="How other members see you. You can leave it empty.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Type the password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password"), cleaned.get("password_confirm")
        if first and second and first != second:
            self.add_error("password_confirm", "The two passwords differ: type the same one twice.")
        return cleaned


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=50,
        label="Key name",
        help_text="What will use the key, e.g. the laptop or the server it lives on.",
    )


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Show times in",
        help_text="Times on these pages are shown in this zone, with its name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(zone, zone) for zone in known_zones()]
