"""All outbound HTTP goes through infrastructure/egress.py: app code may not build its own sessions
or call `requests` directly (tests/ and bench/ are exempt). Every package of the repository is
checked, so a new app is covered the day it appears."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_APPS = {"tests", "bench", "scripts", "docs"}
ALLOWED = {ROOT / "infrastructure" / "egress.py"}
FORBIDDEN = [
    re.compile(r"\brequests\.(get|post|put|patch|delete|head|options|request|Session)\s*\("),
    re.compile(r"\bSession\s*\("),
    re.compile(r"\bOAuth2Session\s*\("),
    re.compile(r"\bOAuth1Session\s*\("),
    re.compile(r"\burllib\.request\.urlopen\s*\("),
    re.compile(r"\burlopen\s*\("),
    re.compile(r"\bhttpx\.|\burllib3\.PoolManager\s*\("),
]


def app_packages() -> list[str]:
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in NOT_APPS and not path.parent.name.startswith(".")
    )


def app_files():
    for package in app_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            if path not in ALLOWED and "migrations" not in path.parts:
                yield path


def test_no_outbound_http_outside_the_egress_module():
    offenders = []
    for path in app_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(pattern.search(code) for pattern in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], (
        "use infrastructure.egress.http_session / oauth2_session / oauth1_session"
    )


def test_the_check_catches_a_bare_call(tmp_path):
    line = "    response = requests.get(url, timeout=5)"
    assert any(pattern.search(line) for pattern in FORBIDDEN)
    assert not any(
        pattern.search("session = egress.http_session(policy=p)") for pattern in FORBIDDEN
    )
