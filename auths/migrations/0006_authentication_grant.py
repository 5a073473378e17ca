"""Authentication.grant: where an auth's credentials may be sent (auths/grants.py).

Existing auths are granted what their service defines today, so the guard holds from the upgrade
on rather than from each auth's next connection. Origins are resolved from public parameter values
only (a migration does not decrypt); an origin left unresolved is still covered by its template,
which is what the guard compares first."""

import re
from urllib.parse import quote, urlsplit

from django.db import migrations, models

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
URL_FIELDS = ("token_url", "refresh_url", "revoke_url", "base_url")
DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(template: str, values: dict) -> str:
    def replace(match):
        value = str(values.get(match.group(1), ""))
        if match.start() == 0 and value.lower().startswith(("https://", "http://")):
            return value.rstrip("/")
        return quote(value, safe="")

    if any(name not in values for name in PLACEHOLDER.findall(template)):
        return ""
    try:
        parts = urlsplit(PLACEHOLDER.sub(replace, template))
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return ""
    if not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def grants_backfill(apps, schema_editor):
    Authentication = apps.get_model("auths", "Authentication")
    for auth in Authentication.objects.select_related("service").iterator(chunk_size=500):
        service, values = auth.service, dict(auth.parameters or {})
        urls = {
            field: {"template": template, "origin": _origin(template, values)}
            for field in URL_FIELDS
            if (template := getattr(service, field) or "")
        }
        grant = {"urls": urls}
        client_id = service.client_id or ""
        if all(name in values for name in PLACEHOLDER.findall(client_id)):
            # (a client id made of a secret parameter stays unrecorded: nothing to compare with)
            grant["client_id"] = PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), client_id)
        Authentication.objects.filter(pk=auth.pk).update(grant=grant)


class Migration(migrations.Migration):
    dependencies = [
        ("auths", "0005_authentication_refresh_interrupted_at"),
        ("services", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="authentication",
            name="grant",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(grants_backfill, migrations.RunPython.noop),
    ]
