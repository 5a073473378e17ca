"""screenshot(page, name): with SCREENSHOTS=1 in the environment, save what the page shows (its
1000x700 viewport) to docs/screenshots/<name>.png, for the README and docs/pages.md. Otherwise
nothing: ordinary test runs write no files.

    SCREENSHOTS=1 pytest -n 0 tests/browser/test_member_pages.py
"""

import os
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page, name: str) -> Path | None:
    if os.environ.get("SCREENSHOTS") != "1":
        return None
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{name}.png"
    page.screenshot(path=str(path))
    return path
