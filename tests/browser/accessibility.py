"""assert_accessible(page): run axe-core (bundled in axe-playwright-python, nothing downloaded)
on the page as it is now, and fail on any violation of impact "serious" or "critical", listing
each with the elements concerned. Call it on every page the platform renders."""

from axe_playwright_python.sync_playwright import Axe

FAILING_IMPACTS = {"serious", "critical"}
_AXE = Axe()


def accessibility_violations(page) -> list[dict]:
    results = _AXE.run(page)
    return [v for v in results.response["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['failureSummary']}")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    violations = accessibility_violations(page)
    assert not violations, f"axe-core on {page.url}:\n{describe(violations)}"
