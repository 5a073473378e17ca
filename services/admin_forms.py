"""The custom-service form of the admin, by sign-in method ("scheme").

An owner first chooses the scheme (SCHEMES; the add view asks for it with a plain link list, no
JavaScript), then sees only that scheme's fields, grouped (GROUPS) and each with help text and
units. Lists are edited as text (one item per line, or separated by commas or spaces), mappings as
`name = value` lines, and parameters as rows of a formset rendered inside the form. Saving calls
the same domain functions as the API (services/custom_services.py); every problem the domain finds
is shown at once, beside its field, in the form's words (never an API field name).
"""

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from connections.browser_flows import oauth_redirect_uri
from infrastructure.errors import DomainError
from lifecycle.grant_reviews import grant_fields_of, grants_review
from services.custom_services import (
    custom_service_create,
    custom_service_problems,
    custom_service_update,
    definition_from_service,
    template_definition,
)
from services.models import (
    AuthScheme,
    ClientAuthMethod,
    CredentialPlacement,
    GrantType,
    Service,
    ServiceSource,
    UmbrellaStatus,
)
from services.notices import discouraged_scheme_warning
from services.validation import PARAMETER_TYPES, DefinitionInvalid
from workspaces.admin_scoping import DomainForm, admin_actor

# --- schemes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheme:
    key: str
    auth_scheme: str
    grant_type: str
    title: str
    summary: str

    @property
    def warning(self) -> str | None:
        return discouraged_scheme_warning(auth_scheme=self.auth_scheme, grant_type=self.grant_type)

    @property
    def signs_in_through_browser(self) -> bool:
        return self.key in ("authorization_code", "oauth1")


SCHEMES = {
    s.key: s
    for s in (
        Scheme(
            "authorization_code",
            AuthScheme.OAUTH2,
            GrantType.AUTHORIZATION_CODE,
            "OAuth 2.0: people sign in at the provider (authorization code)",
            "The usual choice: each person allows access on the provider's page and comes back. "
            "You register a redirect URI with the provider.",
        ),
        Scheme(
            "client_credentials",
            AuthScheme.OAUTH2,
            GrantType.CLIENT_CREDENTIALS,
            "OAuth 2.0: machine to machine (client credentials)",
            "The platform signs in as your OAuth app itself, with no person involved.",
        ),
        Scheme(
            "password",
            AuthScheme.OAUTH2,
            GrantType.PASSWORD,
            "OAuth 2.0: user name and password (discouraged)",
            "People type their password at the provider into this platform. Only if the "
            "provider offers nothing else.",
        ),
        Scheme(
            "oauth1",
            AuthScheme.OAUTH1,
            "",
            "OAuth 1.0a (discouraged)",
            "The older, three-legged OAuth. Only if the provider offers nothing else.",
        ),
        Scheme(
            "token",
            AuthScheme.TOKEN,
            "",
            "API key or token",
            "People paste a key or token the provider gave them; it is sent in a header, a query "
            "parameter or as HTTP Basic.",
        ),
    )
}


def scheme_of(*, auth_scheme: str, grant_type: str) -> Scheme | None:
    for scheme in SCHEMES.values():
        if scheme.auth_scheme == auth_scheme and (
            scheme.auth_scheme != AuthScheme.OAUTH2
            or scheme.grant_type == (grant_type or GrantType.AUTHORIZATION_CODE)
        ):
            return scheme
    return None


def scheme_for_request(request, obj=None, template: Service | None = None) -> Scheme | None:
    """The scheme the form is for: the service's own when editing; when adding, the one chosen in
    the address (?scheme=…), the template connector's, or the one a posted form carries."""
    if obj is not None:
        return scheme_of(auth_scheme=obj.auth_scheme, grant_type=obj.grant_type)
    if template is not None:
        return scheme_of(auth_scheme=template.auth_scheme, grant_type=template.grant_type)
    chosen = SCHEMES.get(request.GET.get("scheme", ""))
    if chosen is None and request.method == "POST":
        chosen = scheme_of(
            auth_scheme=request.POST.get("auth_scheme", ""),
            grant_type=request.POST.get("grant_type", ""),
        )
    return chosen


def template_for_request(request) -> Service | None:
    """The catalog connector an add form starts from (?template=<slug>), or None."""
    slug = request.GET.get("template") or request.POST.get("template") or ""
    if not slug:
        return None
    return Service.objects.filter(source=ServiceSource.CONNECTOR, slug=slug).first()


# --- which fields, grouped -----------------------------------------------------------------------

CODE, CLIENT, PASSWORD, OAUTH1, TOKEN = SCHEMES
OAUTH2 = {CODE, CLIENT, PASSWORD}
ALL = {*OAUTH2, OAUTH1, TOKEN}

# (title, description, [(field, schemes that show it)])
GROUPS = [
    (
        "Identity",
        "How people recognise the service when they connect an account.",
        [
            ("name", ALL),
            ("slug", ALL),
            ("description", ALL),
            ("documentation_url", ALL),
            ("icon", ALL),
        ],
    ),
    (
        "Sign-in method",
        "",
        [
            ("sign_in_method", ALL),
            ("pkce", {CODE}),
            ("discouraged_acknowledged", {PASSWORD, OAUTH1}),
        ],
    ),
    (
        "Endpoints",
        "The provider's addresses, from its OAuth documentation. They may contain "
        "{{placeholders}} for the parameters below.",
        [
            ("request_token_url", {OAUTH1}),
            ("authorize_url", {CODE, OAUTH1}),
            ("token_url", {*OAUTH2, OAUTH1}),
            ("refresh_url", {CODE, PASSWORD}),
            ("revoke_url", OAUTH2),
            ("issuer", {CODE}),
        ],
    ),
    (
        "Your OAuth app",
        "The app you registered with the provider.",
        [
            ("redirect_uri", {CODE, OAUTH1}),
            ("client_id", {*OAUTH2, OAUTH1}),
            ("new_client_secret", {*OAUTH2, OAUTH1}),
            ("clear_client_secret", {*OAUTH2, OAUTH1}),
            ("client_auth_method", OAUTH2),
        ],
    ),
    (
        "Scopes",
        "What access the service asks for.",
        [("scopes_available", OAUTH2), ("scopes_default", OAUTH2), ("scope_separator", OAUTH2)],
    ),
    (
        "Calling the API",
        "Where requests go and where the credential is placed: the platform adds it to every "
        "request, nobody pastes tokens by hand.",
        [
            ("base_url", ALL),
            ("credential_placement", {*OAUTH2, TOKEN}),
            ("credential_header_name", {*OAUTH2, TOKEN}),
            ("credential_prefix", {*OAUTH2, TOKEN}),
            ("credential_query_param", {*OAUTH2, TOKEN}),
            ("test_path", ALL),
        ],
    ),
    (
        "Token handling",
        "How the provider's token responses are read and when tokens are refreshed.",
        [
            ("default_token_lifetime", OAUTH2),
            ("refresh_lead_seconds", OAUTH2),
            ("token_request_timeout", {*OAUTH2, OAUTH1}),
            ("rotates_refresh_tokens", {CODE, PASSWORD}),
            ("expired_status_codes", ALL),
            ("token_path", OAUTH2),
            ("token_response_parameters", OAUTH2),
            ("authorize_params", {CODE}),
            ("token_params", OAUTH2),
            ("refresh_params", {CODE, PASSWORD}),
        ],
    ),
    (
        "Umbrella application",
        "What the provider does with your OAuth app's tokens. A provider may expire them early "
        "while the app is in test status (Google: 7 days); the platform then warns before "
        "they die.",
        [
            ("umbrella_status", {CODE}),
            ("access_token_lifetime", {CODE}),
            ("refresh_token_max_age", {CODE}),
            ("refresh_token_idle_timeout", {CODE}),
            ("test_refresh_token_lifetime", {CODE}),
            ("test_exempt_scopes", {CODE}),
        ],
    ),
    ("Parameters", "", [("parameters", ALL)]),
]

# Groups most services leave as they are: folded, so the form starts with what must be filled in.
FOLDED = {"Token handling", "Umbrella application"}

# Sent as hidden inputs: the scheme is chosen before the form.
SCHEME_FIELDS = ["auth_scheme", "grant_type"]


def scheme_field_names(scheme: Scheme) -> list[str]:
    return [name for _, _, fields in GROUPS for name, shown in fields if scheme.key in shown]


def custom_service_fieldsets(*, scheme: Scheme, adding: bool) -> list[tuple]:
    """The admin fieldsets of the form for one scheme, in the order an owner fills them in."""
    sets = []
    if adding:
        sets.append(
            (
                "Where",
                {
                    "fields": ["organization", "workspace", "template", "reserved_id"],
                    "description": "The organization the service belongs to; it is available "
                    "to all its members.",
                },
            )
        )
    for title, description, fields in GROUPS:
        names = [
            name
            for name, shown in fields
            if scheme.key in shown and not (adding and name == "clear_client_secret")
        ]
        if title == "Sign-in method":
            names = [*names, *SCHEME_FIELDS]
        if names:
            options = {"fields": names, "description": description}
            if title in FOLDED:
                # A <details> element (Django 5.1+): folded without JavaScript, open on an error.
                options["classes"] = ["collapse"]
            sets.append((title, options))
    return sets


# --- fields --------------------------------------------------------------------------------------

_LIST_SPLIT = re.compile(r"[\s,]+")


class ListField(forms.CharField):
    """A list typed as text: one item per line, or separated by commas or spaces ("read, write",
    "read write"). A JSON list (what the API takes) is read too."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})
    item = str

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                items = None
            if isinstance(items, list):
                return [self.item(i) for i in items]
        words = [w.strip("\"'[]") for w in _LIST_SPLIT.split(text)]
        return [self._item(w) for w in words if w]

    def _item(self, word):
        try:
            return self.item(word)
        except ValueError:
            raise forms.ValidationError(f"“{word}” is not a number.") from None


class StatusCodesField(ListField):
    item = int


class MappingField(forms.CharField):
    """A mapping typed as `name = value` lines (a JSON object is read too)."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 40})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k} = {v}" for k, v in value.items())
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if text.startswith("{"):
            try:
                mapping = json.loads(text)
            except ValueError:
                mapping = None
            if isinstance(mapping, dict):
                return {str(k): str(v) for k, v in mapping.items()}
        mapping = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, val = line.partition("=")
            if not equals or not name.strip():
                raise forms.ValidationError(
                    f"Line {number} (“{line.strip()}”): write it as name = value."
                )
            mapping[name.strip()] = val.strip()
        return mapping


def _url(label, help_text, required=False):
    # Text, not URLField: the URLs may hold {{placeholders}}, which the domain checks.
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"size": 44, "placeholder": "https://"}),
    )


def _seconds(label, help_text, **kwargs):
    return forms.IntegerField(
        label=f"{label} (seconds)",
        required=False,
        min_value=1,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"size": 10}),
        **kwargs,
    )


class SignInMethodWidget(forms.Widget):
    """The chosen scheme as text, with the way back to the choice when adding."""

    change_url = ""

    def render(self, name, value, attrs=None, renderer=None):
        link = (
            format_html(
                ' <a class="change-method" href="{}">Choose another method</a>', self.change_url
            )
            if self.change_url
            else ""
        )
        return format_html('<strong id="{}">{}</strong>{}', attrs.get("id", ""), value, link)


class RedirectUriWidget(forms.Widget):
    """The redirect URI as selectable text with a copy button (pages/static/pages/copy.js, a file
    of ours: the admin loads no inline script)."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html(
            '<code id="redirect-uri" style="user-select: all">{}</code> '
            '<button type="button" class="button" data-copy="redirect-uri">Copy</button>'
            '<span id="redirect-uri-status" role="status" aria-live="polite"></span>'
            '<script src="{}" defer></script>',
            value,
            static("pages/copy.js"),
        )


# --- parameters ----------------------------------------------------------------------------------


class ParameterRowForm(forms.Form):
    """One value a person fills in when authenticating; {{name}} in URLs stands for it."""

    name = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"size": 12}),
        help_text="Letters, digits and _; used as {{name}}.",
    )
    title = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs={"size": 16})
    )
    type = forms.ChoiceField(choices=[(t, t) for t in PARAMETER_TYPES], initial="string")
    required = forms.BooleanField(required=False, initial=True)
    default = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 10}))
    pattern = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 14}),
        help_text="Optional regular expression the value must match.",
    )
    secret = forms.BooleanField(required=False)
    description = forms.CharField(required=False, widget=forms.HiddenInput)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not (data.get("name") or data.get("title") or data.get("default"))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("name") and (cleaned.get("title") or cleaned.get("default")):
            self.add_error("name", "Give the parameter a name, or empty the row.")
        default = cleaned.get("default")
        if default not in (None, ""):
            kind = cleaned.get("type")
            if kind == "number":
                try:
                    cleaned["default"] = json.loads(default)
                    assert isinstance(cleaned["default"], (int, float))
                except (ValueError, AssertionError):
                    self.add_error("default", "A number parameter's default is a number.")
            elif kind == "boolean":
                if default.lower() not in ("true", "false"):
                    self.add_error("default", "Write true or false.")
                else:
                    cleaned["default"] = default.lower() == "true"
        return cleaned

    def parameter(self) -> dict:
        data = self.cleaned_data
        parameter = {
            "name": data["name"],
            "type": data["type"],
            "required": data["required"],
            "secret": data["secret"],
        }
        for key in ("title", "pattern", "default", "description"):
            if data.get(key) not in (None, ""):
                parameter[key] = data[key]
        return parameter


class BaseParameterFormSet(forms.BaseFormSet):
    def rows(self) -> list[ParameterRowForm]:
        """The filled-in rows that are kept, in order (the domain numbers its problems so)."""
        return [
            form
            for form in self.forms
            if form.is_valid() and not form.is_blank() and not self._should_delete_form(form)
        ]


ParameterFormSet = forms.formset_factory(
    ParameterRowForm, formset=BaseParameterFormSet, extra=2, can_delete=True
)


def _parameter_initial(parameter: dict) -> dict:
    initial = {**parameter}
    default = initial.get("default")
    if isinstance(default, bool):
        initial["default"] = "true" if default else "false"
    elif default is not None:
        initial["default"] = str(default)
    initial.setdefault("required", True)
    return initial


class ParametersWidget(forms.Widget):
    """Renders the form's parameter formset (rows of inputs) in place of a single input."""

    use_fieldset = True
    formset = None

    def render(self, name, value, attrs=None, renderer=None):
        return render_to_string("admin/services/service/parameters.html", {"formset": self.formset})

    def value_from_datadict(self, data, files, name):
        return None


# --- the form ------------------------------------------------------------------------------------

SECRET_REENTER = (
    "You typed a client secret, but it is never sent back to the page: type it again before saving."
)


class CustomServiceForm(DomainForm):
    """Add or change a custom service for one scheme (set by the admin's get_form, with `request`,
    `scheme` and `template`)."""

    scheme: Scheme = SCHEMES["authorization_code"]
    connector: Service | None = None  # "create from connector": the catalog entry it starts from

    # Where
    reserved_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    template = forms.CharField(required=False, widget=forms.HiddenInput)
    redirect_uri = forms.CharField(required=False, disabled=True, widget=RedirectUriWidget)

    # Identity
    name = forms.CharField(
        label="Name", max_length=200, help_text="Shown to everyone who connects an account."
    )
    slug = forms.SlugField(
        label="Short name",
        required=False,
        max_length=80,
        help_text="Letters, digits and hyphens; names the service in the API and in exported "
        "projects. Empty: made from the name.",
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="One or two sentences on what the service is for.",
    )
    documentation_url = _url("Documentation", "Link to the provider's API documentation.")
    icon = _url(
        "Icon address",
        "An image address for API clients. The platform's own pages show catalog icons from "
        "this server and the service's initial otherwise: they load nothing from other hosts.",
    )

    # Sign-in method
    sign_in_method = forms.CharField(
        label="Method", required=False, disabled=True, widget=SignInMethodWidget
    )
    auth_scheme = forms.CharField(widget=forms.HiddenInput)
    grant_type = forms.CharField(required=False, widget=forms.HiddenInput)
    pkce = forms.BooleanField(
        label="Use PKCE",
        required=False,
        initial=True,
        help_text="Proof key for code exchange: protects the sign-in. Switch off only for a "
        "provider that rejects it (then a client secret is needed).",
    )
    discouraged_acknowledged = forms.BooleanField(
        label="I accept this discouraged method",
        required=False,
        help_text="The provider offers nothing better; members are warned when they connect.",
    )

    # Endpoints
    request_token_url = _url(
        "Request-token URL",
        "Where the sign-in starts, e.g. https://api.example.com/oauth/request_token.",
    )
    authorize_url = _url(
        "Authorization URL",
        "The provider's page where people allow access, e.g. https://example.com/oauth/authorize.",
    )
    token_url = _url(
        "Token URL",
        "Where the platform exchanges codes and refreshes tokens, e.g. "
        "https://example.com/oauth/token.",
    )
    refresh_url = _url(
        "Refresh URL", "Only if the provider refreshes tokens elsewhere; empty: the token URL."
    )
    revoke_url = _url(
        "Revocation URL",
        "Called when an authentication is deleted, so the provider forgets it. Optional.",
    )
    issuer = forms.CharField(
        label="Issuer",
        required=False,
        help_text="Optional: the provider's issuer identifier, checked on the way back (RFC 9207).",
    )

    # Your OAuth app
    client_id = forms.CharField(
        label="Client ID",
        required=False,
        max_length=500,
        help_text="From the OAuth app you registered with the provider.",
    )
    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again.",
    )
    clear_client_secret = forms.BooleanField(
        label="Remove the stored client secret", required=False
    )
    client_auth_method = forms.ChoiceField(
        label="Client authentication at the token URL",
        choices=ClientAuthMethod.choices,
        initial=ClientAuthMethod.BASIC,
        help_text="How the client ID and secret are sent: the provider's documentation says; "
        "HTTP Basic is the standard.",
    )

    # Scopes
    scopes_available = ListField(
        label="Scopes offered",
        help_text="The scopes a member may ask for: one per line, or separated by commas or "
        "spaces, e.g. read, write.",
    )
    scopes_default = ListField(
        label="Scopes asked for by default",
        help_text="Asked for when a member does not choose; each must be among the scopes "
        "offered (when you list them).",
    )
    scope_separator = forms.ChoiceField(
        label="Scopes are sent separated by",
        choices=[(" ", "a space (the standard)"), (",", "a comma"), ("+", "a plus sign")],
        initial=" ",
        help_text="How the provider wants several scopes written in one request.",
    )

    # Calling the API
    base_url = _url(
        "Base URL",
        "The API's address; requests made with an authentication go to paths below it, e.g. "
        "https://api.example.com/v1.",
    )
    credential_placement = forms.ChoiceField(
        label="Credential goes in",
        choices=CredentialPlacement.choices,
        initial=CredentialPlacement.HEADER,
        widget=forms.RadioSelect,
        help_text="Where each API request carries the token or key; the provider's "
        "documentation says. HTTP Basic: the key as user name (token services only).",
    )
    credential_header_name = forms.CharField(
        label="Header name",
        required=False,
        max_length=100,
        initial="Authorization",
        help_text="For a header: its name, usually Authorization.",
    )
    credential_prefix = forms.CharField(
        label="Prefix",
        required=False,
        max_length=50,
        initial="Bearer",
        help_text="For a header: written before the credential, usually Bearer. Empty: none.",
    )
    credential_query_param = forms.CharField(
        label="Query parameter name",
        required=False,
        max_length=100,
        help_text="For a query parameter: its name, e.g. api_key.",
    )
    test_path = forms.CharField(
        label="Test path",
        required=False,
        max_length=500,
        help_text="A path below the base URL that answers 2xx when the credentials work, e.g. "
        "/user. Members test their connections with it. Optional.",
    )

    # Token handling
    default_token_lifetime = forms.IntegerField(
        label="Token lifetime when the provider does not say (seconds)",
        min_value=1,
        initial=3600,
        help_text="3600 = 1 hour. Tokens are never assumed to live forever.",
    )
    refresh_lead_seconds = _seconds(
        "Refresh this long before expiry",
        "Empty: 5 minutes or a tenth of the token's lifetime, whichever is longer.",
    )
    token_request_timeout = _seconds(
        "Token request time limit",
        "1 to 120. Empty: the platform's default (60 seconds).",
        max_value=120,
    )
    rotates_refresh_tokens = forms.BooleanField(
        label="The provider replaces the refresh token at each refresh",
        required=False,
        help_text="Tick if the documentation says refresh tokens are single-use (rotating).",
    )
    expired_status_codes = StatusCodesField(
        label="Status codes meaning “token expired”",
        help_text="HTTP status codes from 400 to 599, separated by commas. Empty: 401.",
    )
    token_path = forms.CharField(
        label="Where the token is in the response",
        required=False,
        max_length=200,
        help_text="Only if it is not the standard access_token: a dotted path, e.g. data.token.",
    )
    token_response_parameters = MappingField(
        label="Values taken from the token response",
        help_text="One per line: response field = parameter name, e.g. instance_url = "
        "instance_url. The parameter can then be used as a {{placeholder}}.",
    )
    authorize_params = MappingField(
        label="Extra sign-in parameters",
        help_text="Added to the authorization URL, one per line: name = value, e.g. "
        "access_type = offline.",
    )
    token_params = MappingField(
        label="Extra token-request parameters", help_text="One per line: name = value."
    )
    refresh_params = MappingField(
        label="Extra refresh-request parameters", help_text="One per line: name = value."
    )

    # Umbrella application
    umbrella_status = forms.ChoiceField(
        label="Your OAuth app's status at the provider",
        choices=UmbrellaStatus.choices,
        initial=UmbrellaStatus.UNKNOWN,
        help_text="Test / demo status may make the provider expire tokens early.",
    )
    access_token_lifetime = _seconds("Access-token lifetime", "If known; 3600 = 1 hour.")
    refresh_token_max_age = _seconds("Refresh-token maximum age", "If known; 15552000 = 180 days.")
    refresh_token_idle_timeout = _seconds(
        "Refresh-token idle timeout", "If known: how long an unused refresh token survives."
    )
    test_refresh_token_lifetime = _seconds(
        "Refresh-token lifetime in test status", "If known; 604800 = 7 days (Google)."
    )
    test_exempt_scopes = ListField(
        label="Scopes exempt from test status",
        help_text="If an authentication asks only for these, test status does not shorten it "
        "(Google: openid, email, profile).",
    )

    # Parameters
    parameters = forms.CharField(
        label="Parameters",
        required=False,
        widget=ParametersWidget,
        help_text="Values a member fills in when connecting (a shop name, a region), usable as "
        "{{name}} in the URLs. Empty rows are ignored; tick Delete to remove one.",
    )

    class Meta:
        model = Service
        fields = ["organization", "workspace"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scheme = self.scheme
        adding = self.instance._state.adding
        keep = {*scheme_field_names(scheme), *SCHEME_FIELDS, "sign_in_method"}
        if adding:
            keep |= {"organization", "workspace", "reserved_id", "template"}
            keep.discard("clear_client_secret")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self._label_for_scheme()
        if not self.is_bound:
            self._initial_values(adding)
        self.fields["sign_in_method"].initial = scheme.title
        self.parameter_formset = ParameterFormSet(
            self.data if self.is_bound else None,
            prefix="parameters",
            initial=[_parameter_initial(p) for p in self.initial.get("parameters") or []],
        )
        if "parameters" in self.fields:
            self.fields["parameters"].widget.formset = self.parameter_formset
        if adding:
            self._where_fields()
            if self.request is not None and self.connector is None:
                # Back to the choice, with the same reserved id (and so the same redirect URI).
                self.fields[
                    "sign_in_method"
                ].widget.change_url = (
                    f"{self.request.path}?{urlencode({'reserved_id': self.reserved})}"
                )
        if "redirect_uri" in keep and self.request is not None:
            self.fields["redirect_uri"] = self._redirect_uri_field()

    # -- set-up --

    def _label_for_scheme(self):
        if self.scheme.key == "oauth1" and "token_url" in self.fields:
            self.fields["token_url"].label = "Access-token URL"
            self.fields["client_id"].label = "Consumer key"
            self.fields["new_client_secret"].label = "Consumer secret"
        if self.scheme.key in ("client_credentials", "password", "oauth1"):
            self.fields["new_client_secret"].required = False
            self.fields["new_client_secret"].help_text += " Needed for this method."
        if "credential_placement" in self.fields and self.scheme.auth_scheme != AuthScheme.TOKEN:
            self.fields["credential_placement"].choices = [
                c for c in CredentialPlacement.choices if c[0] != CredentialPlacement.BASIC
            ]
        if "discouraged_acknowledged" in self.fields:
            self.fields[
                "discouraged_acknowledged"
            ].help_text = f"{self.scheme.warning} Tick to use it anyway."

    def _initial_values(self, adding):
        if adding:
            values = template_definition(self.connector) if self.connector is not None else {}
        else:
            values = definition_from_service(self.instance)
        for name, value in values.items():
            if name in self.fields or name == "parameters":
                self.initial[name] = value
        if "scope_separator" in self.fields:
            current = self.initial.get("scope_separator", " ")
            field = self.fields["scope_separator"]
            if current not in dict(field.choices):
                field.choices = [*field.choices, (current, f"“{current}”")]
        self.initial["auth_scheme"] = self.scheme.auth_scheme
        self.initial["grant_type"] = self.scheme.grant_type
        if adding and self.connector is not None:
            self.initial["template"] = self.connector.slug

    def _where_fields(self):
        organization = self.fields["organization"]
        organization.required = True
        organization.help_text = ""
        choices = list(organization.queryset[:2])
        if len(choices) == 1 and not self.is_bound:
            self.initial["organization"] = choices[0].pk
        workspace = self.fields["workspace"]
        workspace.required = False
        workspace.help_text = (
            "Empty: your personal workspace (platform edition) or the embedded workspace "
            "(embedded edition). The service is usable organization-wide either way."
        )
        reserved = self.data.get("reserved_id") or self.initial.get("reserved_id")
        if self.request is not None and not reserved:
            reserved = self.request.GET.get("reserved_id")
        try:
            self.reserved = uuid.UUID(str(reserved))
        except ValueError:
            self.reserved = uuid.uuid4()  # opened without one (add_view puts one in the address)
        self.initial["reserved_id"] = self.reserved

    def _redirect_uri_field(self) -> forms.Field:
        service_id = self.instance.pk if not self.instance._state.adding else self.reserved
        return forms.CharField(
            label="Redirect URI",
            required=False,
            disabled=True,
            initial=oauth_redirect_uri(
                base_url=self.request.build_absolute_uri("/"), service_id=service_id
            ),
            widget=RedirectUriWidget,
            help_text="Register it with the provider as your OAuth app's redirect (callback) "
            "URI, before or after saving: it stays the same when the service is saved and "
            "edited.",
        )

    # -- reading --

    def _organization(self):
        if not self.instance._state.adding:
            return self.instance.organization
        return self.cleaned_data.get("organization")

    def definition(self) -> dict:
        """The definition fields this form shows, as the domain takes them."""
        values = {}
        for name in scheme_field_names(self.scheme):
            if name in ("sign_in_method", "redirect_uri", "new_client_secret", "parameters"):
                continue
            if name == "clear_client_secret" or name not in self.cleaned_data:
                continue
            values[name] = self.cleaned_data[name]
        values["auth_scheme"] = self.scheme.auth_scheme
        values["grant_type"] = self.scheme.grant_type
        values["parameters"] = [row.parameter() for row in self.parameter_formset.rows()]
        for name in ("documentation_url", "icon", "issuer"):
            if name in values:
                values[name] = values[name].strip()
        if values.get("expired_status_codes") is None and "expired_status_codes" in values:
            values["expired_status_codes"] = []
        return values

    # -- errors, in the form's words --

    def _show(self, problem: DomainError) -> None:
        field = problem.field or ""
        message = problem.message
        if field and message.startswith(f"{field}: "):
            message = message[len(field) + 2 :]
        if message[:1].islower() and message.split(" ", 1)[0].isalpha():
            message = message[:1].upper() + message[1:]  # a sentence, not a name or a scope
        target = {"client_secret": "new_client_secret", "id": None}.get(field, field)
        if target and target.startswith("parameters["):
            if self._show_on_row(target, message):
                return
            target = "parameters"
        if target and "." in target:
            target = target.split(".")[0]
        if target in self.fields and target not in SCHEME_FIELDS:
            if target not in self._errors or message not in self._errors[target]:
                self.add_error(target, message)
            return
        label = Service._meta.get_field(target).verbose_name if _is_model_field(target) else ""
        self.add_error(None, f"{label.capitalize()}: {message}" if label else message)

    def _show_on_row(self, target: str, message: str) -> bool:
        match = re.match(r"parameters\[(\d+)\](?:\.(\w+))?", target)
        rows = self.parameter_formset.rows()
        if not match or int(match.group(1)) >= len(rows):
            return False
        row = rows[int(match.group(1))]
        key = match.group(2)
        row.add_error(key if key in row.fields else None, message)
        return True

    def clean(self):
        cleaned = forms.Form.clean(self)
        rows_valid = self.parameter_formset.is_valid()
        if not rows_valid:
            self.add_error(None, "Some parameters need correcting: see the Parameters rows.")
        secret = cleaned.get("new_client_secret") or None
        try:
            actor = (
                admin_actor(self.request, self._organization()) if self._organization() else None
            )
        except DomainError as error:
            self._show(error)
            return cleaned
        if self.errors or self._rows_with_errors():
            if actor is not None:
                # What could be read is still checked, so every problem shows on this submit.
                problems = custom_service_problems(
                    actor=actor,
                    definition=self._readable_definition(),
                    client_secret=secret,
                    template=self.connector,
                    service=None if self.instance._state.adding else self.instance,
                    clear_client_secret=cleaned.get("clear_client_secret", False),
                )
                for problem in problems:
                    if problem.field not in self._errors:
                        self._show(problem)
        else:
            try:
                self.result = self.perform()
            except DefinitionInvalid as error:
                for problem in error.problems:
                    self._show(problem)
            except DomainError as error:
                self._show(error)
        if secret and (self.errors or self._rows_with_errors()):
            self.add_error("new_client_secret", SECRET_REENTER)
        return cleaned

    def _rows_with_errors(self) -> bool:
        return any(form.errors for form in self.parameter_formset.forms)

    def _readable_definition(self) -> dict:
        try:
            values = self.definition()
        except (KeyError, AttributeError):
            values = {}
        return {k: v for k, v in values.items() if k not in self._errors}

    def _post_clean(self):
        # The domain function validated and saved (in clean); the model's own validation of a
        # half-built instance would only repeat it, after the save.
        pass

    def perform(self):
        secret = self.cleaned_data.get("new_client_secret") or None
        if self.instance._state.adding:
            actor = admin_actor(self.request, self.cleaned_data["organization"])
            return custom_service_create(
                actor=actor,
                definition=self.definition(),
                client_secret=secret,
                workspace=self.cleaned_data.get("workspace"),
                template=self.connector,
                service_id=self.reserved,
            )
        service = Service.objects.get(pk=self.instance.pk)
        before = grant_fields_of(service)
        actor = admin_actor(self.request, service.organization)
        service = custom_service_update(
            actor=actor,
            service=service,
            changes=self.definition(),
            client_secret=secret,
            clear_client_secret=self.cleaned_data.get("clear_client_secret", False),
        )
        warning = grants_review(service=service, before=before, edited_by=actor.label)
        if warning:
            messages.warning(self.request, warning["message"])
        return service


def _is_model_field(name: str) -> bool:
    try:
        Service._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def create_from_connector_url(connector: Service) -> str:
    """The admin's add form, pre-filled from a catalog connector for the organization's own app."""
    return f"{reverse('admin:services_service_add')}?{urlencode({'template': connector.slug})}"
