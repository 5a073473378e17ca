"""Input refused at the door, before any view, session or API-key lookup sees it."""

from django.http import JsonResponse

from infrastructure.api_errors import error_body

NUL = "\x00"


def _shown(name: str) -> str:
    return name.replace(NUL, "\\x00")


def nul_character_refusal(request) -> tuple[str, str | None] | None:
    """(message, query parameter or None) when a NUL character is anywhere a view could read it
    from: the path, a query parameter's name or value, a header (cookies included)."""
    if NUL in request.path_info:
        return "The URL path contains a NUL character (%00); remove it.", None
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return (
                f"The query parameter '{_shown(name)}' contains a NUL character (%00), which no "
                "value can hold; remove it.",
                _shown(name),
            )
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            header = key[5:].replace("_", "-").title()
            return f"The {header} header contains a NUL character; remove it.", None
    return None


class RefuseNulCharactersMiddleware:
    """PostgreSQL text never holds a NUL character: a query that filters on one fails inside the
    database (a 500 after the work was done). Requests carrying one are answered 400 in the API's
    error shape, naming the query parameter, whichever view they were for (the admin included)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = nul_character_refusal(request)
        if refusal is not None:
            message, parameter = refusal
            fields = {parameter: [message]} if parameter is not None else None
            return JsonResponse(
                error_body(code="invalid", message=message, fields=fields), status=400
            )
        return self.get_response(request)
