"""Forms of the Connections and Services pages. They parse input and shape it the way the domain
functions take it; the domain functions decide, and their DomainError is shown next to the field
it names (`show_error`): "parameters.shop" is the form's `parameter_shop`, "credentials.api_key" its
`api_key`, and so on.

A connect form holds only the fields the service's scheme needs: an API key (or a username and a
password for HTTP Basic), a username and password for the OAuth 2.0 password grant, nothing for a
browser sign-in or client credentials; plus the service's declared parameters.
"""

from django import forms

from infrastructure.errors import DomainError
from services.models import AuthScheme, CredentialPlacement, GrantType, Service

# Domain error fields -> form fields, where the names differ.
ERROR_FIELDS = {
    "credentials.api_key": "api_key",
    "credentials.token": "api_key",
    "credentials.username": "username",
    "credentials.password": "password",
    "workspace": "workspace",
    "name": "name",
}
PARAMETER_PREFIX = "parameter_"


def workspace_label(workspace) -> str:
    """The workspace's name, with its kind when the name does not say it ("Grace (personal)")."""
    kind = workspace.get_kind_display().lower()
    return workspace.name if kind in workspace.name.lower() else f"{workspace.name} ({kind})"


def show_error(form: forms.Form, error: DomainError) -> None:
    """The domain's message next to the field it names, or at the top of the form."""
    field = error.field or ""
    if field.startswith("parameters."):
        field = PARAMETER_PREFIX + field.removeprefix("parameters.")
    field = ERROR_FIELDS.get(field, field)
    form.add_error(field if field in form.fields else None, error.message)


def credential_fields(service: Service) -> list[str]:
    """The credential inputs a service's scheme asks a person for."""
    if service.auth_scheme == AuthScheme.TOKEN:
        if service.credential_placement == CredentialPlacement.BASIC:
            return ["username", "password"]
        return ["api_key"]
    if service.auth_scheme == AuthScheme.OAUTH2 and service.grant_type == GrantType.PASSWORD:
        return ["username", "password"]
    return []


def _credential_field(service: Service, name: str, *, reauthenticating: bool) -> forms.Field:
    basic = service.auth_scheme == AuthScheme.TOKEN
    if name == "api_key":
        return forms.CharField(
            label="API key or token",
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
            help_text=f"The key {service.name} gave you. It is stored encrypted and never shown "
            "again.",
        )
    if name == "username":
        return forms.CharField(
            label="Username",
            max_length=300,
            required=not basic,
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
            help_text=f"Your username at {service.name}"
            + (" (or the API key, when it is sent as the username)." if basic else "."),
        )
    return forms.CharField(
        label="Password",
        strip=False,
        required=not basic,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again."
        + (" Give it again to re-authenticate." if reauthenticating else ""),
    )


def _parameter_field(service: Service, spec: dict, *, previous: dict) -> forms.Field:
    name = spec["name"]
    secret = bool(spec.get("secret"))
    kept = name in previous
    help_text = spec.get("description") or ""
    if secret:
        help_text += (" " if help_text else "") + (
            "Secret: leave it empty to keep the current value."
            if kept
            else "Secret: stored encrypted."
        )
    if spec.get("pattern"):
        help_text += (" " if help_text else "") + f"Format: {spec['pattern']}"
    widget = (
        forms.PasswordInput(attrs={"autocomplete": "off"})
        if secret
        else (forms.URLInput() if spec.get("type") == "url" else forms.TextInput())
    )
    return forms.CharField(
        label=spec.get("title") or name,
        required=bool(spec.get("required")) and not kept,
        strip=True,
        max_length=2000,
        widget=widget,
        help_text=help_text,
        initial=None if secret else previous.get(name, spec.get("default")),
    )


class ConnectForm(forms.Form):
    """Connect a new account (`workspaces` given) or re-authenticate one (`authentication`)."""

    name = forms.CharField(
        max_length=200,
        required=False,
        label="Name",
        help_text="How this connection is listed. Empty: the service's name and your email.",
    )
    workspace = forms.ChoiceField(
        label="Workspace",
        help_text="Who can see and use it: your personal workspace is yours alone; the "
        "organization workspace is seen by every member.",
    )

    def __init__(
        self,
        *args,
        service: Service,
        workspaces=(),
        default_workspace=None,
        authentication=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.service = service
        reauthenticating = authentication is not None
        if reauthenticating:
            del self.fields["name"]
            del self.fields["workspace"]
        else:
            self.workspaces = {str(w.pk): w for w in workspaces}
            self.fields["workspace"].choices = [(str(w.pk), workspace_label(w)) for w in workspaces]
            if default_workspace is not None:
                self.fields["workspace"].initial = str(default_workspace.pk)
        for name in credential_fields(service):
            self.fields[name] = _credential_field(service, name, reauthenticating=reauthenticating)
        previous = dict(authentication.parameters or {}) if reauthenticating else {}
        if reauthenticating:
            # Secret values are kept when left empty; only their names are known here.
            previous.update(
                {p["name"]: "" for p in _secret_specs(service) if _has_secret(authentication, p)}
            )
        for spec in _declared(service):
            self.fields[PARAMETER_PREFIX + spec["name"]] = _parameter_field(
                service, spec, previous=previous
            )

    def parameter_fields(self):
        return [self[name] for name in self.fields if name.startswith(PARAMETER_PREFIX)]

    def credential_bound_fields(self):
        return [self[name] for name in credential_fields(self.service)]

    def inputs(self) -> dict:
        """What the domain functions take: parameters given (empty ones left out, so defaults and
        kept values apply), credentials, and for new connections a name and a workspace."""
        data = self.cleaned_data
        values = {
            "parameters": {
                name.removeprefix(PARAMETER_PREFIX): value
                for name, value in data.items()
                if name.startswith(PARAMETER_PREFIX) and value not in (None, "")
            }
        }
        credentials = {
            name: data[name] for name in credential_fields(self.service) if data.get(name)
        }
        if self.service.auth_scheme == AuthScheme.TOKEN:
            values["credentials"] = credentials
        else:
            values.update(credentials)
        if "name" in self.fields:
            values["name"] = data.get("name") or ""
            values["workspace"] = self.workspaces.get(data.get("workspace"))
        return values


def _declared(service: Service) -> list[dict]:
    return [p for p in (service.parameters or []) if isinstance(p, dict) and p.get("name")]


def _secret_specs(service: Service) -> list[dict]:
    return [p for p in _declared(service) if p.get("secret")]


def _has_secret(authentication, spec) -> bool:
    # Whether a secret value is stored is known without revealing it: the sealed field exists.
    return authentication.secret_parameters is not None


class RenameForm(forms.Form):
    name = forms.CharField(
        max_length=200, label="New name", help_text="How this connection is listed."
    )


class MoveForm(forms.Form):
    workspace = forms.ChoiceField(
        label="Move to workspace",
        help_text="Only workspaces where you may create connections are listed.",
    )

    def __init__(self, *args, workspaces=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.workspaces = {str(w.pk): w for w in workspaces}
        self.fields["workspace"].choices = [(str(w.pk), workspace_label(w)) for w in workspaces]


class ServiceSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search services",
        help_text="By name or description, e.g. “github” or “crm”.",
    )
