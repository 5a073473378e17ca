"""Load (or reload) the connector catalog from services/catalog/*.yaml. Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from services.catalog import CatalogError, catalog_load


class Command(BaseCommand):
    help = "Create or update the catalog connectors from services/catalog/*.yaml (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        try:
            result = catalog_load(using=options["database"])
        except CatalogError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Catalog: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged ({result.total} connectors)."
        )
        for slug in result.created:
            self.stdout.write(f"  + {slug}")
        for slug in result.updated:
            self.stdout.write(f"  ~ {slug}")
