from django.core.management.base import BaseCommand, CommandError

from embedded.management.bundle_cli import command_actor, named_project, named_solution
from embedded.solution_bundles import solution_bundle
from infrastructure.errors import DomainError
from projects.bundles import bundle_dumps, project_bundle, workflow_bundle


class Command(BaseCommand):
    help = (
        "Print a project, one of its workflows, or a solution's release as a bundle (JSON, the "
        "same bytes every time): services by catalog key or custom definition, never a secret. "
        "Acts as the organization's owner, or --member EMAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--project", help="a project's id or name")
        what.add_argument("--solution", help="a solution's id or name (exports a release)")
        parser.add_argument("--workflow", type=int, help="with --project: one workflow, from 0")
        parser.add_argument("--release", type=int, help="with --solution: default the latest")
        parser.add_argument("--member", default="", help="email of the member who exports")
        parser.add_argument("--output", default="", help="write to this file instead of stdout")

    def handle(
        self, *args, organization, project, solution, workflow, release, member, output, **options
    ):
        actor = command_actor(organization=organization, member=member)
        try:
            if project:
                found = named_project(actor, project)
                if workflow is None:
                    bundle = project_bundle(actor=actor, project=found)
                else:
                    workflows = list(found.workflows.order_by("position", "id"))
                    if not 0 <= workflow < len(workflows):
                        raise CommandError(
                            f"--workflow: '{found.name}' has {len(workflows)} workflow(s), "
                            "numbered from 0."
                        )
                    bundle = workflow_bundle(
                        actor=actor, project=found, workflow=workflows[workflow]
                    )
            else:
                found = named_solution(actor, solution)
                chosen = None
                if release is not None:
                    chosen = found.releases.filter(number=release).first()
                    if chosen is None:
                        raise CommandError(f"--release: '{found.name}' has no release {release}.")
                bundle = solution_bundle(actor=actor, solution=found, release=chosen)
        except DomainError as error:
            raise CommandError(error.message) from None
        text = bundle_dumps(bundle)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Wrote the {bundle['kind']} bundle '{bundle['name']}' to {output}.")
        else:
            # The bundle alone on stdout, byte for byte, so it can be redirected or diffed.
            self.stdout.write(text, ending="")
