"""Forms of the end-user pages (config wizard, auth-only dialog). They turn what a browser posts
into typed values; the domain (embedded/wizard.py, projects/config_values.py, the connection
flows) decides, and its refusals are shown next to the field they name.

- ConfigForm: one field per config slot of a screen, by type: text, number, yes/no checkbox, one
  of a list, several of a list (checkboxes), JSON (a text area). Empty means "no value": the slot's
  default applies, and a required slot without one is refused by the domain, naming its title.
- ConnectForm: what connecting a service asks for, and nothing more: an API key, or a user name
  and password (HTTP Basic, or the OAuth 2.0 password grant), and the service's own parameters (a
  shop domain, a region). A service connected at the provider (OAuth) asks only for parameters.
"""

import json

from django import forms

from embedded.wizard import ConfigStep, connect_form_kind
from services.models import CredentialPlacement, Service


class _Shown:
    """Django validates `required` with its generic "This field is required."; the domain says it
    better (it names the slot). Fields keep required=False for validation and carry `shown_required`
    for the label and the input's required attribute."""

    shown_required = False


class TextField(_Shown, forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        return value if value != "" else None


class NumberField(_Shown, forms.CharField):
    """A number typed as text (an <input type=number> would lose "1e3" and refuse "," silently):
    an integer when it has no fraction, else a decimal."""

    def __init__(self, *, title: str, **kwargs):
        super().__init__(**kwargs)
        self.title = title

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise forms.ValidationError(
                f"'{self.title}' is a number: give digits, e.g. 42 or 2.5."
            ) from None
        return int(number) if number.is_integer() and "e" not in text.lower() else number


class JsonField(_Shown, forms.CharField):
    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false"})

    def __init__(self, *, title: str, **kwargs):
        super().__init__(**kwargs)
        self.title = title

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, indent=2)

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"'{self.title}' is not valid JSON: {error.msg} (line {error.lineno}, column "
                f"{error.colno})."
            ) from None


class YesNoField(_Shown, forms.BooleanField):
    pass


class OneOfField(_Shown, forms.ChoiceField):
    def to_python(self, value):
        value = super().to_python(value)
        return value if value != "" else None


class SeveralOfField(_Shown, forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


def _help(slot: dict) -> str:
    parts = [slot.get("help_text") or ""]
    if slot["type"] == "string" and slot.get("pattern"):
        parts.append(f"Format: {slot['pattern']}")
    if slot.get("default") is not None and slot["type"] not in ("boolean",):
        shown = slot["default"]
        if isinstance(shown, list | dict):
            shown = json.dumps(shown)
        parts.append(f"Left empty: {shown}.")
    return " ".join(p for p in parts if p)


def config_field(slot: dict) -> forms.Field:
    kind = slot["type"]
    title = slot["title"]
    common = {"label": title, "help_text": _help(slot), "required": False}
    choices = [(str(c), str(c)) for c in slot.get("choices") or []]
    if kind == "number":
        field = NumberField(title=title, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    elif kind == "boolean":
        field = YesNoField()
    elif kind == "select":
        field = OneOfField(choices=[("", "Choose one…"), *choices])
    elif kind == "multiselect":
        field = SeveralOfField(choices=choices)
    elif kind == "json":
        field = JsonField(title=title)
    else:
        field = TextField(max_length=10_000)
    for name, value in common.items():
        setattr(field, name, value)
    field.shown_required = bool(slot["required"]) and slot.get("default") is None
    if field.shown_required and kind not in ("boolean", "multiselect"):
        field.widget.attrs["required"] = True
    return field


class ConfigForm(forms.Form):
    """The config slots of one screen. `values()` gives {external_id: value or None}."""

    use_required_attribute = False

    def __init__(self, steps: list[ConfigStep], *args, **kwargs):
        super().__init__(*args, prefix="config", **kwargs)
        self.steps = steps
        for step in steps:
            self.fields[step.external_id] = config_field(step.slot)
            value = step.value if step.value is not None else step.slot.get("default")
            if value is not None:
                self.initial[step.external_id] = value

    def values(self) -> dict:
        values = {}
        for step in self.steps:
            value = self.cleaned_data.get(step.external_id)
            if step.slot["type"] == "multiselect":
                value = list(value or []) or (
                    None if self.fields[step.external_id].shown_required else []
                )
            values[step.external_id] = value
        return values

    def show_errors(self, errors: dict) -> None:
        for external_id, message in errors.items():
            if external_id in self.fields and not self.has_error(external_id):
                self.add_error(external_id, message)


# --- connecting an account -----------------------------------------------------------------------


def _parameter_field(spec: dict) -> forms.Field:
    widget = forms.PasswordInput(render_value=False) if spec.get("secret") else forms.TextInput()
    field = TextField(
        label=spec.get("title") or spec["name"],
        help_text=spec.get("description") or "",
        required=False,
        widget=widget,
        initial=spec.get("default"),
        max_length=2000,
    )
    field.shown_required = bool(spec.get("required"))
    return field


class ConnectForm(forms.Form):
    """What connecting `service` asks for (see the module's docstring), prefixed by `key` so that
    each auth slot of a screen has its own fields."""

    use_required_attribute = False

    def __init__(self, service: Service, key: str, *args, **kwargs):
        super().__init__(*args, prefix=f"connect-{key}", **kwargs)
        self.service = service
        self.kind = connect_form_kind(service)
        basic = service.credential_placement == CredentialPlacement.BASIC
        if self.kind == "token" and not basic:
            self.fields["api_key"] = TextField(
                required=False,
                label="API key or token",
                help_text=f"From your {service.name} account. It is stored encrypted and never "
                "shown again.",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                max_length=16_000,
            )
            self.fields["api_key"].shown_required = True
        if (self.kind == "token" and basic) or self.kind == "password":
            self.fields["username"] = TextField(
                required=False,
                label="User name",
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
                max_length=500,
            )
            self.fields["password"] = TextField(
                required=False,
                label="Password",
                help_text="Stored encrypted; never shown again."
                if self.kind == "token"
                else f"Sent once to {service.name} to obtain a token, never stored.",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                max_length=2000,
            )
            self.fields["username"].shown_required = True
            self.fields["password"].shown_required = self.kind == "password"
        for spec in service.parameters or []:
            if isinstance(spec, dict) and spec.get("name"):
                self.fields[f"param_{spec['name']}"] = _parameter_field(spec)

    def inputs(self) -> dict:
        """What the flows take (embedded/wizard.py: wizard_connect)."""
        data = self.cleaned_data
        inputs = {
            "credentials": {
                name: data[name]
                for name in ("api_key", "username", "password")
                if data.get(name) and self.kind == "token"
            },
            "username": data.get("username") or "",
            "password": data.get("password") or "",
            "parameters": {
                name.removeprefix("param_"): value
                for name, value in data.items()
                if name.startswith("param_") and value is not None
            },
        }
        return inputs

    def show_error(self, field: str | None, message: str) -> None:
        """A flow's refusal next to the field it names (credentials.api_key, parameters.shop,
        username), else on the form."""
        name = (field or "").removeprefix("credentials.")
        if name.startswith("parameters."):
            name = "param_" + name.removeprefix("parameters.")
        self.add_error(name if name in self.fields else None, message)
