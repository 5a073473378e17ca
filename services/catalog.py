"""The connector catalog: real providers shipped as data (services/catalog/*.yaml), loaded
idempotently after every migrate (post_migrate) and by `manage.py load_catalog`.

Each file is one connector: a mapping of service-definition fields (services.validation.
DEFINITION_FIELDS; lifetimes in seconds). The loader validates every entry like a custom service
(without client credentials, which an organization brings as its own OAuth app, and without DNS
lookups) and upserts it by slug, so loading twice changes nothing. Connectors that disappear from
the files are left in place: authentications may still use them.

Tenants never change connector rows: there is no tenant write path (the API is read-only, the
admin read-only for everyone but superusers).
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import connections, transaction

from infrastructure.errors import DomainError
from services.models import Service, ServiceSource
from services.validation import DEFINITION_FIELDS, definition_validate

# libyaml's safe loader when PyYAML was built with it (5x faster: the catalog is read on every
# start), else the pure-Python one; both load the same documents.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


class CatalogError(Exception):
    """A catalog file is not a valid connector; the message names the file and the field."""


@dataclass
class CatalogLoadResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged)


def catalog_entries(directory: Path = CATALOG_DIR) -> list[dict]:
    """Read and validate every catalog file, sorted by file name."""
    entries = []
    seen = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            entry = yaml.load(handle, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
        if not isinstance(entry, dict):
            raise CatalogError(f"{path.name}: a connector file is one mapping of fields.")
        unknown = set(entry) - set(DEFINITION_FIELDS)
        if unknown:
            raise CatalogError(f"{path.name}: unknown field(s) {', '.join(sorted(unknown))}.")
        defaults = {f: Service._meta.get_field(f).get_default() for f in DEFINITION_FIELDS}
        values = {**defaults, **entry}
        try:
            definition_validate(values=values, require_client=False, check_hosts=False)
        except DomainError as error:
            raise CatalogError(f"{path.name}: {error.message}") from None
        slug = values["slug"]
        if not slug:
            raise CatalogError(f"{path.name}: slug is required.")
        if slug in seen:
            raise CatalogError(f"{path.name}: slug '{slug}' is also used by {seen[slug]}.")
        seen[slug] = path.name
        entries.append(values)
    return entries


def catalog_load(*, using: str = "default", directory: Path = CATALOG_DIR) -> CatalogLoadResult:
    """Create or update every connector from the data files; idempotent."""
    result = CatalogLoadResult()
    if Service._meta.db_table not in connections[using].introspection.table_names():
        return result  # migrating backwards or before the services tables exist
    entries = catalog_entries(directory)
    with transaction.atomic(using=using):
        existing = {
            s.slug: s
            for s in Service.objects.using(using)
            .select_for_update()
            .filter(source=ServiceSource.CONNECTOR)
        }
        for values in entries:
            connector = existing.get(values["slug"])
            if connector is None:
                Service.objects.using(using).create(source=ServiceSource.CONNECTOR, **values)
                result.created.append(values["slug"])
                continue
            changed = [f for f, v in values.items() if getattr(connector, f) != v]
            if not changed:
                result.unchanged.append(values["slug"])
                continue
            for f in changed:
                setattr(connector, f, values[f])
            connector.save(using=using, update_fields=[*changed, "updated_at"])
            result.updated.append(values["slug"])
    return result
