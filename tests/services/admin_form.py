"""What a browser posts back from an admin custom-service form as it was rendered: every field's
shown value, the inline parameter rows included (services/admin_forms.py)."""


def _shown(bound) -> str | None:
    value = bound.field.prepare_value(bound.value())
    if value is True:
        return "on"
    if value in (None, False):
        return None
    return bound.field.widget.format_value(value)


def posted_from(form) -> dict:
    data = {}
    for bound in form:
        if bound.field.disabled or bound.name == "parameters":
            continue
        shown = _shown(bound)
        if shown is not None:
            data[bound.html_name] = shown
    formset = form.parameter_formset
    for bound in formset.management_form:
        data[bound.html_name] = bound.value()
    for row in formset:
        for bound in row:
            shown = _shown(bound)
            if shown is not None:
                data[bound.html_name] = shown
    return data
