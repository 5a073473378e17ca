"""Query values out of log lines (infrastructure/log_redaction.py); the servers that use it are
tested end to end in tests/test_web_server.py."""

import logging

import pytest

from infrastructure.log_redaction import RedactQueryStrings, redact_query_strings


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            '"GET /api/oauth/callback/x/?code=abc&state=def HTTP/1.1" 302 0',
            '"GET /api/oauth/callback/x/?code=[redacted]&state=[redacted] HTTP/1.1" 302 0',
        ),
        (
            "https://idp.example/authorize?state=s1&client_id=c#frag",
            "https://idp.example/authorize?state=[redacted]&client_id=[redacted]#frag",
        ),
        ("GET /path?just-a-token HTTP/1.1", "GET /path?[redacted] HTTP/1.1"),
        ("GET /path?a=&b=2", "GET /path?a=[redacted]&b=[redacted]"),
        ("GET /path/ HTTP/1.1", "GET /path/ HTTP/1.1"),
        ("Is it done? yes", "Is it done? yes"),
        (
            '"GET /embedded/connect/b0Zq-_x1/ HTTP/1.1" 302 0',
            '"GET /embedded/connect/[redacted]/ HTTP/1.1" 302 0',
        ),
        (
            "https://p.example/embedded/connect/abc?x=1",
            "https://p.example/embedded/connect/[redacted]?x=[redacted]",
        ),
        (
            '"GET /account/invitations/Gd-NfCf9RzY/ HTTP/1.1" 200 2626',
            '"GET /account/invitations/[redacted]/ HTTP/1.1" 200 2626',
        ),
        (
            '"GET /account/password-reset/MQ/cx1-abc123/ HTTP/1.1" 302 0',
            '"GET /account/password-reset/MQ/[redacted]/ HTTP/1.1" 302 0',
        ),
        (
            '"GET /account/password-reset/sent/ HTTP/1.1"',
            '"GET /account/password-reset/sent/ HTTP/1.1"',
        ),
    ],
)
def test_query_values_are_redacted_and_names_kept(line, expected):
    assert redact_query_strings(line) == expected


def test_the_filter_redacts_the_formatted_message():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s %s',
        ("GET /cb/?code=secret-code HTTP/1.1", 302, 0), None,
    )  # fmt: skip
    assert RedactQueryStrings().filter(record) is True
    assert record.getMessage() == '"GET /cb/?code=[redacted] HTTP/1.1" 302 0'
