"""Prune the event log now (events/retention.py), showing progress; the beat task does the same
every EVENT_PRUNE_SECONDS."""

from django.core.management.base import BaseCommand

from events.retention import PruneProgress, events_prune


class Command(BaseCommand):
    help = (
        "Delete events older than EVENT_RETENTION_DAYS (or --days), keeping the latest event of "
        "each kind of each auth, in batches, with progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Retention in days (default: the setting).")
        parser.add_argument("--batch-size", type=int, help="Events per batch (default: setting).")

    def handle(self, *args, **options):
        def report(progress: PruneProgress) -> None:
            self.stdout.write(
                f"Pruned {progress.batch:,} events older than {progress.cutoff:%Y-%m-%d %H:%M} "
                f"UTC ({progress.deleted:,} so far)."
            )

        deleted = events_prune(
            retention_days=options["days"], batch_size=options["batch_size"], progress=report
        )
        self.stdout.write(self.style.SUCCESS(f"Done: {deleted:,} events pruned."))
