"""The README's "Import and export" walkthrough works as written on a fresh installation: its
commands are read from the README and run in order against the demo organization that
`scripts/run` creates (demo_setup), and their output is compared with what the README shows."""

import io
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from projects.models import Project
from services.models import Service

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "$ "


def walkthrough() -> list[tuple[str, list[str]]]:
    """(command line, the lines the README shows it printing) of the section's console block."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Import and export", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1].split("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith(PROMPT):
            steps.append((line[len(PROMPT) :], []))
        else:
            steps[-1][1].append(line)
    return steps


def shown(expected: list[str]) -> re.Pattern:
    """The README's lines as a pattern: "(…)" stands for an id."""
    lines = [re.escape(line).replace(re.escape("(…)"), r"\([0-9a-f-]{36}\)") for line in expected]
    return re.compile("\n".join(lines) + "\n?\\Z")


@pytest.mark.django_db
def test_the_readme_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    call_command("demo_setup", stdout=io.StringIO())
    exported = tmp_path / "exported.json"
    steps = walkthrough()
    assert len(steps) == 5

    for command, expected in steps:
        if command.startswith("diff "):
            _, left, right, *_ = shlex.split(command)
            assert left == "exported.json"
            assert exported.read_bytes() == (ROOT / right).read_bytes()
            assert expected == ["identical"]
            continue
        words = shlex.split(command)
        assert words[:3] == [".venv/bin/python", "manage.py", words[2]]
        name, arguments = words[2], words[3:]
        if ">" in arguments:
            arguments = [*arguments[: arguments.index(">")], "--output", str(exported)]
        out = io.StringIO()
        try:
            call_command(name, *arguments, stdout=out, stderr=io.StringIO())
        except CommandError as error:
            out.write(f"CommandError: {error}\n")
        assert shown(expected).match(out.getvalue()), (command, out.getvalue())

    project = Project.objects.get(name="Contacts sync")
    service = Service.objects.get(slug="contacts-api")
    assert project.auth_slots.get().service == service
    assert service.client_secret is not None
