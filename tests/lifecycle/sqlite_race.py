"""Run by test_lifecycle_sqlite.py in a subprocess on the embedded default (config.settings.local,
a SQLite file in DATA_DIR): N threads run the refresh task's code on one auth at once.

Reads {"token_url", "client_id", "client_secret", "access_token", "refresh_token", "threads"} as
JSON on stdin (secrets stay out of the command line); prints the outcome as JSON on stdout.
"""

import json
import sys
import threading
from collections import Counter
from datetime import timedelta


def main():
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from auths.models import Authentication
    from lifecycle.policy import refresh_attempt
    from lifecycle.state import due_authentications_claim
    from services.models import Service
    from workspaces.models import User, Workspace, WorkspaceKind
    from workspaces.organizations import organization_create

    data = json.load(sys.stdin)
    call_command("migrate", verbosity=0, interactive=False)
    owner = User.objects.create_user("owner@example.com", "pw-for-tests-123")
    organization = organization_create(name="Embedded", owner=owner)
    service = Service(
        source="connector",
        slug="sqlite-race",
        name="SQLite race",
        auth_scheme="oauth2",
        grant_type="authorization_code",
        token_url=data["token_url"],
        client_id=data["client_id"],
        rotates_refresh_tokens=True,
    )
    service.client_secret = data["client_secret"]
    service.save()
    issued = timezone.now() - timedelta(seconds=50)
    auth = Authentication(
        organization=organization,
        workspace=Workspace.objects.get(organization=organization, kind=WorkspaceKind.ORGANIZATION),
        service=service,
        name="raced",
        consented_at=issued,
        last_refreshed_at=issued,
        access_token_expires_at=issued + timedelta(seconds=60),
    )
    auth.access_token = data["access_token"]
    auth.refresh_token = data["refresh_token"]
    auth.save()

    # The scan's claim on SQLite (UPDATE ... RETURNING, no SKIP LOCKED): the auth once, then not.
    Authentication.objects.filter(pk=auth.pk).update(refresh_due_at=timezone.now())
    later = timezone.now() + timedelta(seconds=1)
    claims = [
        [str(pk) for pk in due_authentications_claim(now=later, lease_seconds=60, limit=10)]
        for _ in range(2)
    ]

    outcomes, errors = Counter(), []
    start = threading.Barrier(data["threads"])

    def race():
        try:
            start.wait()
            outcomes[refresh_attempt(authentication_id=auth.pk).result] += 1
        except Exception as error:  # reported to the test
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race) for _ in range(data["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    auth = Authentication.objects.get(pk=auth.pk)
    json.dump(
        {
            "vendor": connection.vendor,
            "transaction_mode": connection.settings_dict["OPTIONS"].get("transaction_mode"),
            "claims": claims,
            "authentication_id": str(auth.pk),
            "outcomes": outcomes,
            "errors": errors,
            "status": auth.status,
            "version": auth.version,
            "access_token": auth.access_token.reveal(),
            "refresh_token": auth.refresh_token.reveal(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
