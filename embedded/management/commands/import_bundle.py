import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from embedded.management.bundle_cli import command_actor, named_workspace
from embedded.solution_bundles import SolutionImportResult, any_bundle_import, any_bundle_plan
from infrastructure.errors import DomainError
from projects.bundle_import import MAX_BUNDLE_BYTES, bundle_parse


def _read(path: str, option: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{option}: no file '{path}'.")
    if file.stat().st_size > MAX_BUNDLE_BYTES:
        raise CommandError(f"{option}: '{path}' is larger than {MAX_BUNDLE_BYTES:,} bytes.")
    return file.read_bytes()


class Command(BaseCommand):
    help = (
        "Import a bundle. Without options: the ordinary import (refused, naming them, when the "
        "bundle needs custom services this organization cannot see). --plan shows what the "
        "custom-service import would do and asks nothing; --apply CHOICES.json imports with the "
        "choices (use or create each custom service, client secrets included; bind static auth "
        "slots). All or nothing. Acts as the organization's owner, or --member EMAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("bundle", help="the bundle file, as export_bundle wrote it")
        parser.add_argument(
            "--workspace",
            default="",
            help="id, name or kind (organization, embedded) of the workspace; default: your "
            "personal workspace (platform edition) or the embedded one. Solutions always go to "
            "the embedded workspace.",
        )
        parser.add_argument("--member", default="", help="email of the member who imports")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--plan", action="store_true", help="show the plan, write nothing")
        mode.add_argument("--apply", default="", metavar="CHOICES", help="a choices JSON file")
        parser.add_argument("--json", action="store_true", help="with --plan: the plan as JSON")

    def handle(self, *args, organization, bundle, workspace, member, plan, apply, **options):
        actor = command_actor(organization=organization, member=member)
        choices = None
        if apply:
            try:
                choices = json.loads(_read(apply, "--apply"))
            except ValueError as error:
                raise CommandError(f"--apply: not a JSON document ({error}).") from None
        try:
            parsed = bundle_parse(_read(bundle, "bundle"))
            values = {
                "actor": actor,
                "bundle": parsed,
                "workspace": named_workspace(actor, workspace),
                "choices": choices,
            }
            if plan:
                self._show_plan(any_bundle_plan(**values), as_json=options["json"])
                return
            result = any_bundle_import(**values)
        except DomainError as error:
            raise CommandError(f"Refused: {error.message}") from None
        self._show_result(result)

    def _show_plan(self, plan: dict, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(plan, indent=2, sort_keys=True))
            return
        write = self.stdout.write
        project = plan["project"]
        write(
            f"{plan['bundle']['kind'].capitalize()} bundle '{plan['bundle']['name']}': the "
            f"project would be {'updated' if project['action'] == 'update' else 'created'}."
        )
        for service in plan["services"]:
            line = f"  service {service['key']} ({service['name']}): {service['status']}"
            if service.get("service"):
                line += f" -> {service['service']['name']} ({service['service']['id']})"
            write(line)
            for candidate in service.get("candidates") or []:
                write(
                    f"      candidate {candidate['id']} {candidate['name']} "
                    f"(same {candidate['match'].replace('_', ' ')})"
                )
            if service["source"] == "custom" and service["status"] in ("missing", "create"):
                if service["can_create"]:
                    needs = ", ".join(service["secrets_required"]) or "no secret"
                    write(f"      may be created here from the bundle (needs: {needs})")
                else:
                    write(f"      cannot be created here: {service['create_refused']}")
        for slot in plan["auth_slots"]:
            if not slot["static"]:
                write(f"  auth slot {slot['external_id']}: authentications given per instance")
                continue
            write(
                f"  auth slot {slot['external_id']} (static): {slot['binding']}"
                + (f" -> {slot['authentication']}" if slot.get("authentication") else "")
            )
            for candidate in slot["candidates"]:
                note = f" - {candidate['warning']}" if candidate.get("warning") else ""
                write(
                    f"      candidate {candidate['id']} {candidate['name']} "
                    f"({candidate['match'].replace('_', ' ')}){note}"
                )
        for warning in plan["warnings"]:
            write(f"  warning: {warning}")
        if plan["ready"]:
            write("Ready: the ordinary import goes through.")
        else:
            write(
                f"Not ready: choose or create {', '.join(plan['missing'])}, e.g. with a choices "
                'file {"services": {"<key>": {"create": {"client_secret": "…"}}}} and --apply.'
            )

    def _show_result(self, result) -> None:
        solution = None
        if isinstance(result, SolutionImportResult):
            solution, result = result, result.imported
        project = result.project
        self.stdout.write(
            f"Imported the project '{project.name}' ({project.pk}) into workspace "
            f"'{project.workspace.name}': {'created' if result.created else 'updated'}."
        )
        if result.version_kept is not None:
            self.stdout.write(
                f"  the previous definition is kept as version "
                f"{result.version_kept.number} (rollback restores it)"
            )
        for service in result.services_created:
            self.stdout.write(f"  created the custom service '{service.name}' ({service.slug})")
        if solution is not None:
            release = solution.release.number if solution.release else "none (nothing changed)"
            self.stdout.write(
                f"  solution '{solution.solution.name}': release {release}; "
                f"instances {solution.instances}"
            )
        for warning in result.warnings:
            self.stdout.write(f"  warning: {warning}")
