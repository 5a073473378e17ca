"""Names people give things (an authentication, a service, a workspace, an organization, an API
key, a person) are one line of text. They end up in email subjects, log lines, the admin and other
people's screens, where a line break splits a header (BadHeaderError, or a forged one) and an
escape sequence rewrites a terminal. Control characters (Unicode category Cc: line feed, carriage
return, tab, escape, NUL, …) and the Unicode line and paragraph separators are refused in names,
and removed by single_line() wherever a name that got in some other way is put on one line.
"""

import unicodedata

from infrastructure.errors import RuleViolation

_NOT_ON_ONE_LINE = {"Cc", "Zl", "Zp"}
_NAMED = {"\n": "line break (\\n)", "\r": "carriage return (\\r)", "\t": "tab (\\t)"}


def _breaks_the_line(character: str) -> bool:
    return unicodedata.category(character) in _NOT_ON_ONE_LINE


def name_check(name: str, *, field: str = "name", what: str = "A name") -> str:
    """Return the name, or raise RuleViolation(field=...) at its first control character."""
    for position, character in enumerate(name, start=1):
        if _breaks_the_line(character):
            shown = _NAMED.get(character, f"control character U+{ord(character):04X}")
            raise RuleViolation(
                f"{what} is a single line of text: remove the {shown} at position {position}.",
                field=field,
            )
    return name


def single_line(text: str) -> str:
    """The text on one line: control characters and line separators become spaces, and runs of
    whitespace one space."""
    return " ".join("".join(" " if _breaks_the_line(c) else c for c in text or "").split())
