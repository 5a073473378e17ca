"""Regular expressions written by people (a service parameter's `pattern`), run with RE2.

Python's `re` backtracks: a pattern like `(a+)+$` takes time exponential in the length of the text
(27 characters: 15 s of a web process). RE2 (google-re2) runs in time linear in the text, because
it has no syntax that needs backtracking: no backreferences, no lookaround, no possessive or atomic
groups. A pattern that uses them is refused when it is declared (services/validation.py), and
refused again, with a message, if an older row still holds one.

Only patterns that come from people go through here; the platform's own expressions stay with `re`.
"""

from functools import lru_cache

import re2

MAX_PATTERN_LENGTH = 500

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error comes back as an exception; RE2 need not print it too

# RE2's own words for what it refuses (prefixes), and what they mean to someone who knows Python's.
_EXPLAINED = (
    ("invalid perl operator: (?P", "named backreferences such as (?P=name) are not supported"),
    ("invalid perl operator: (?=", "lookaround such as (?=...) is not supported"),
    ("invalid perl operator: (?!", "lookaround such as (?!...) is not supported"),
    ("invalid perl operator: (?<", "lookaround such as (?<=...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("invalid escape sequence: \\Z", "use \\z (or $) for the end of the text"),
)


class PatternError(ValueError):
    """The pattern cannot be run by RE2; the message says why, in terms a person can act on."""


def _explain(error: Exception) -> str:
    raw = error.args[0] if error.args else error
    detail = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        return f"backreferences such as \\1 are not supported ({detail})"
    if detail.startswith("bad repetition operator: ") and detail.endswith("+"):
        return f"possessive quantifiers such as ++ are not supported ({detail})"
    for found, meaning in _EXPLAINED:
        if detail.startswith(found):
            return f"{meaning} ({detail})"
    return detail


def pattern_compile(pattern: str):
    """The compiled pattern, or PatternError."""
    if not isinstance(pattern, str):
        raise PatternError("a pattern is text")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"a pattern has at most {MAX_PATTERN_LENGTH} characters")
    return _compiled(pattern)


@lru_cache(maxsize=512)  # patterns are few: one per declared parameter
def _compiled(pattern: str):
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        raise PatternError(_explain(error)) from None


def pattern_fullmatch(pattern: str, text: str) -> bool:
    """Whether the whole text matches, in time linear in the text. PatternError when RE2 cannot
    run the pattern."""
    return pattern_compile(pattern).fullmatch(text) is not None
