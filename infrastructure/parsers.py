"""The API's JSON parser: DRF's, refusing NUL characters anywhere in the document and documents
nested deeper than Python can read."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

NUL = "\x00"


def nul_path(value, path: str = "") -> str | None:
    """Where the first NUL character is, as the API names fields (`definition.base_url`,
    `scopes[0]`), or None. "" when the whole document is a string holding one."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return name.replace(NUL, "\\x00")
            found = nul_path(item, name)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class JSONParser(parsers.JSONParser):
    """PostgreSQL text and jsonb cannot hold a NUL character (\\u0000): a string holding one failed
    inside the database, as a 500, wherever a serializer takes free-form JSON (a generic
    definition, a service's extra parameters). Refused here once, naming where it is."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            where = nul_path(data)
        except RecursionError:
            # json raises RecursionError, not ValueError, past about a thousand levels, and DRF
            # catches only ValueError: a 500 for `[[[[…` in any body.
            raise ParseError(
                "JSON parse error - the document is nested too deeply; no field of this API is "
                "more than a few levels deep."
            ) from None
        if where is not None:
            raise ValidationError(
                {
                    where or "non_field_errors": [
                        "contains a NUL character (\\u0000), which no text can hold; remove it."
                    ]
                }
            )
        return data
