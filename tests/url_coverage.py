"""Every URL of the platform gets at least one successful call in the suite (Zulip's rule, from
zerver/lib/test_runner.py): an endpoint that is only ever refused by the tests is an endpoint whose
success nobody checks.

RecordingMiddleware (test settings only) notes the URL name of every 2xx/3xx answer, whichever
client made the request (Django's test client, DRF's, a live server hit by Chromium). When the
whole suite ran and passed, the session fails if a URL name was never answered successfully. Under
pytest-xdist each worker reports what it saw to the controller, which decides.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

SUCCEEDED: set[str] = set()
# The admin is Django's own site (scoped by config/admin_site.py); its URLs are not ours to list.
IGNORED_PREFIXES = ("admin/",)


class RecordingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and 200 <= response.status_code < 400:
            SUCCEEDED.add(match.view_name)  # with its namespace: "account:home"
        return response


def url_names() -> set[str]:
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif (
                isinstance(pattern, URLPattern)
                and pattern.name
                and not prefix.startswith(IGNORED_PREFIXES)
            ):
                yield namespace + pattern.name

    return {name for name in walk(get_resolver().url_patterns) if name}


def _whole_suite(session) -> bool:
    config = session.config
    return (
        not config.option.keyword
        and not config.option.markexpr
        and not config.option.deselect
        and all(arg.rstrip("/") in ("tests", str(config.rootpath / "tests")) for arg in config.args)
        and session.testsfailed == 0
        and not session.shouldstop
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # xdist controller: gather what each worker saw
    SUCCEEDED.update(node.workeroutput.get("url_calls", []))


def pytest_sessionfinish(session, exitstatus):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: report, the controller decides
        workeroutput["url_calls"] = sorted(SUCCEEDED)
        return
    if exitstatus != 0 or not _whole_suite(session):
        return
    missing = sorted(url_names() - SUCCEEDED)
    if missing:
        session.config.url_coverage_missing = missing
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    missing = getattr(config, "url_coverage_missing", None)
    if missing:
        terminalreporter.section("URLs no test called successfully", red=True)
        for name in missing:
            terminalreporter.line(f"  {name}")
