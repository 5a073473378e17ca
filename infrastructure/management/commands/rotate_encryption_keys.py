"""Re-encrypt every secret at rest under the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key FIRST in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy, run
this command, then drop the old keys once it reports nothing left under them.

Every EncryptedTextField of every installed model is found through apps.get_models(), so secrets
added by any app are covered. Rows are processed in batches, each in its own transaction with the
rows locked (select_for_update), so a token refresh that writes a row meanwhile is never
overwritten with an older value. Ciphertext is re-encrypted with infrastructure.encryption.reencrypt
(MultiFernet.rotate): the plaintext is never held by this command's code, printed or logged.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from tqdm import tqdm

from infrastructure.encryption import (
    DecryptionError,
    EncryptedTextField,
    Sealed,
    keyring,
    reencrypt,
)


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """(model, [field names]) for every concrete model with an EncryptedTextField."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every EncryptedTextField value under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, batch_size, dry_run, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        primary, _ = keyring()
        totals = {"rotated": 0, "current": 0}
        for model, names in encrypted_fields():
            label = model._meta.label
            has_secret = Q()
            for name in names:
                has_secret |= Q(**{f"{name}__isnull": False})
            queryset = model._default_manager.filter(has_secret).order_by("pk")
            with tqdm(
                total=queryset.count(),
                desc=label,
                unit="row",
                disable=no_progress,
                file=self.stderr._out,
            ) as bar:
                last_pk = None
                while True:
                    page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
                    pks = list(page.values_list("pk", flat=True)[:batch_size])
                    if not pks:
                        break
                    self._rotate_batch(model, names, pks, dry_run, totals)
                    last_pk = pks[-1]
                    bar.update(len(pks))
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"{verb} {totals['rotated']} secret(s) under key {primary}; "
            f"{totals['current']} already used it."
        )

    def _rotate_batch(self, model, names, pks, dry_run, totals):
        with transaction.atomic():
            rows = model._default_manager.select_for_update().filter(pk__in=pks).only("pk", *names)
            changed = []
            for row in rows:
                dirty = False
                for name in names:
                    sealed = getattr(row, name)
                    if sealed is None:
                        continue
                    try:
                        rotated = reencrypt(sealed.ciphertext)
                    except DecryptionError as error:
                        raise CommandError(
                            f"{model._meta.label} {row.pk} {name}: {error} Add the missing key "
                            "to FIELD_ENCRYPTION_KEYS (after the new one) and run again."
                        ) from None
                    if rotated == sealed.ciphertext:
                        totals["current"] += 1
                        continue
                    totals["rotated"] += 1
                    setattr(row, name, Sealed(rotated))
                    dirty = True
                if dirty:
                    changed.append(row)
            if changed and not dry_run:
                model._default_manager.bulk_update(changed, names)
