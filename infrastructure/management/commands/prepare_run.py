"""Prepare a start (scripts/run): migrate, collect static files and set up the demo, each only
when it has something to do, in one process (infrastructure/startup.py says when)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from infrastructure.startup import (
    migrations_pending,
    start_check_messages,
    static_files_collected,
    static_files_current,
    static_inputs_digest,
)


class Command(BaseCommand):
    help = (
        "Apply unapplied migrations, collect static files when their inputs changed, and create "
        "the demo organization on an empty installation."
    )

    # The start's own selection of checks, below (infrastructure/startup.py says which).
    requires_system_checks = []

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        messages = start_check_messages()
        for message in messages:
            self.stderr.write(str(message))
        if any(message.is_serious() for message in messages):
            raise CommandError("The system checks above failed; nothing was started.")
        if migrations_pending():
            call_command("migrate", interactive=False, verbosity=verbosity)
        else:
            # migrate's post_migrate loads the connector catalog; with nothing to migrate, load
            # it here so an edited catalog file still takes effect on the next start.
            call_command("load_catalog", verbosity=0)
        digest = static_inputs_digest()
        if not static_files_current(digest):
            call_command("collectstatic", interactive=False, verbosity=0)
            static_files_collected(digest)
        call_command("demo_setup", verbosity=verbosity)
