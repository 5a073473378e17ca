"""Query strings out of logs. An OAuth callback's URL carries the authorization code and the state
(`/api/oauth/callback/…?code=…&state=…`), and a client may put a token in any query string; an
access log line is read by far more people than the credentials are meant for. Every query value
in a log line becomes `[redacted]`; the names stay, so a line still says what was asked.

Some credentials travel in a path instead, and their segment is redacted too: a connect link's
one-time code (`/embedded/connect/<code>/`, a URL handed to end users), an invitation's token
(`/account/invitations/<token>/`) and a password reset's token
(`/account/password-reset/<uidb64>/<token>/`): each works until it is used, and the access log
line is written while it still does.

Used by gunicorn's access and error logs (config/gunicorn.py) and by the handlers of Django's
logging (config/settings/base.py: LOGGING), which carry runserver's request lines.
"""

import logging
import re

REDACTED = "[redacted]"
# A query string: from "?" to the end of the URL (whitespace, a quote or a fragment).
QUERY_STRING = re.compile(r"\?([^\s\"'#<>]+)")
# The path segments that are credentials: what precedes them, and the segment.
SECRET_PATH_MARKERS = ("/embedded/connect/", "/account/invitations/", "/account/password-reset/")
SECRET_PATH_SEGMENT = re.compile(
    r"(/embedded/connect/|/account/invitations/|/account/password-reset/[^/\s\"'?#<>]+/)"
    r"[^/\s\"'?#<>]+"
)


def _redact_query(match: re.Match) -> str:
    pairs = []
    for pair in match.group(1).split("&"):
        name, has_value, _ = pair.partition("=")
        # A bare `?abc` may be a value on its own (a token): redact it whole.
        pairs.append(f"{name}={REDACTED}" if has_value else (REDACTED if pair else ""))
    return "?" + "&".join(pairs)


def redact_query_strings(text: str) -> str:
    """`text` with the value of every query parameter of every URL in it replaced, and every
    credential path segment."""
    if any(marker in text for marker in SECRET_PATH_MARKERS):
        text = SECRET_PATH_SEGMENT.sub(rf"\g<1>{REDACTED}", text)
    if "?" not in text:
        return text
    return QUERY_STRING.sub(_redact_query, text)


class RedactQueryStrings(logging.Filter):
    """Redacts query values in the formatted message of every record it sees (attach it to a
    handler or a logger). The record is changed in place, for every handler after this one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_query_strings(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
