"""Embedded-edition benchmark, one command:

    .venv/bin/python -m bench.embedded                   # 300 end users, 1,000 requests each way
    .venv/bin/python -m bench.embedded --end-users 1000 --requests 3000

PostgreSQL (DATABASE_URL, default the local server's `bench_embedded` database, created if
missing). Starts the loopback OAuth server (tests/oauth_server/serve.py) and measures, in one run:

1. **Onboarding through the API**: for each end user, what the customer's backend does with an
   organization API key — create the end user, create an instance of the live solution binding
   the end user's auth and setting its config, enable it — against a baseline of the same rows
   written by the ORM (EndUser, SolutionInstance, InstanceAuth) with no checks. The end users'
   auths are made beforehand for both sides (they come from the OAuth flow, not measured here).
2. **Calling by slot**: `POST instances/<id>/request/` against `POST authentications/<id>/request/`
   (the plain HTTP-client endpoint) for the same auth and the same loopback endpoint, interleaved
   one for one; and the database queries each makes (the slot lookup may add at most one).

Both go through the whole Django stack in-process (DRF's APIClient: routing, API-key
authentication, throttling, serializers), so the ratios are the platform's own cost.
Prints a Markdown report.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
FERNET_TEST_KEY = "X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_embedded"


def configure(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        EGRESS_ALLOW_INSECURE_LOCAL="True",
        DJANGO_LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", FERNET_TEST_KEY)
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host name, as in the suite

    call_command("migrate", verbosity=0, interactive=False)


def build_world(server, end_users: int):
    """An embedded organization with its backend's API key, a password-grant CRM service on the
    loopback provider, a published solution (one auth slot, one config slot), and one auth per
    end user for each side of the comparison."""
    from rest_framework.test import APIClient

    from connections.password_grant import authentication_create_password
    from projects.models import AuthSlot, ConfigSlot, Project
    from services.models import Service
    from workspaces.access import actor_for_end_user
    from workspaces.models import (
        Edition,
        EndUser,
        OrganizationAPIKey,
        User,
        Workspace,
        WorkspaceKind,
    )
    from workspaces.organizations import organization_create

    owner = User.objects.create(email="bench-embedded@example.com")
    organization = organization_create(
        name="Bench Embedded", slug="bench-embedded", owner=owner, edition=Edition.EMBEDDED
    )
    workspace = Workspace.objects.get(organization=organization, kind=WorkspaceKind.EMBEDDED)
    app = server.create_application(grant_type="password")
    service = Service.objects.create(
        source="custom",
        organization=organization,
        workspace=workspace,
        owner=owner,
        slug="bench-crm",
        name="Bench CRM",
        auth_scheme="oauth2",
        grant_type="password",
        discouraged_acknowledged=True,
        token_url=server.token_url,
        base_url=server.base_url + "/api",
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        scopes_available=["read", "write"],
    )
    project = Project.objects.create(organization=organization, workspace=workspace, name="Sync")
    AuthSlot.objects.create(
        project=project, external_id="crm", title="Your CRM", service=service, scopes=["read"]
    )
    ConfigSlot.objects.create(
        project=project, external_id="channel", title="Channel", type="string", required=True
    )
    _, key = OrganizationAPIKey.objects.create_key(name="backend", organization=organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    api = f"/api/organizations/{organization.slug}"
    solution = ok(client.post(f"{api}/solutions/", {"project": str(project.pk)}), 201)
    ok(client.post(f"{api}/solutions/{solution['id']}/publish/"), 201)

    # One resource owner at the provider; every end user's auth is a real password grant.
    account = server.create_user("bench-end-users")

    def auth_for(end_user):
        return authentication_create_password(
            actor=actor_for_end_user(end_user),
            service=service,
            username=account["username"],
            password=account["password"],
            scopes=["read"],
        )

    # The API side creates its end users itself; their auths need an owner first, so the auths
    # are made for placeholder end users whose ownership moves to the API-created ones below.
    placeholders = [
        EndUser.objects.create(organization=organization, external_user_id=f"pre-{i}")
        for i in range(end_users * 2)
    ]
    auths = [auth_for(person) for person in placeholders]
    return {
        "client": client,
        "api": api,
        "organization": organization,
        "solution": solution["id"],
        "release": solution,
        "auths": auths,
        "placeholders": placeholders,
    }


def ok(response, expected=200):
    assert response.status_code == expected, (response.status_code, response.content[:500])
    return response.json()


def onboard_through_api(world, auths, first: int) -> float:
    """Per end user: create them, hand them the auth, create the bound instance, enable it."""
    from auths.models import Authentication

    client, api = world["client"], world["api"]
    start = time.perf_counter()
    for number, auth in enumerate(auths, start=first):
        person = ok(
            client.post(f"{api}/end-users/", {"external_user_id": f"api-{number}", "name": "Pat"}),
            201,
        )
        # Not part of the API flow (the auth would come from the end user's OAuth flow): give
        # the pre-made auth to the new end user, one UPDATE, included in the timing.
        Authentication.objects.filter(pk=auth.pk).update(end_user_id=person["id"])
        instance = ok(
            client.post(
                f"{api}/instances/",
                {
                    "solution": world["solution"],
                    "end_user": person["id"],
                    "config_values": {"channel": "sales"},
                    "auth_values": [{"external_id": "crm", "authentication_id": str(auth.pk)}],
                },
                format="json",
            ),
            201,
        )
        ok(client.post(f"{api}/instances/{instance['id']}/enable/"))
    return time.perf_counter() - start


def onboard_through_orm(world, auths, first: int) -> float:
    """The same rows with no checks: the floor any API could reach."""
    from auths.models import Authentication
    from embedded.models import InstanceAuth, Release, SolutionInstance
    from projects.models import AuthSlot
    from workspaces.models import EndUser

    release = Release.objects.filter(solution_id=world["solution"]).latest("number")
    slot = AuthSlot.objects.get(project__solutions=world["solution"], external_id="crm")
    start = time.perf_counter()
    for number, auth in enumerate(auths, start=first):
        person = EndUser.objects.create(
            organization=world["organization"], external_user_id=f"orm-{number}", name="Pat"
        )
        Authentication.objects.filter(pk=auth.pk).update(end_user_id=person.pk)
        instance = SolutionInstance.objects.create(
            organization=world["organization"],
            solution_id=world["solution"],
            release=release,
            end_user=person,
            name="Sync",
            config_values={"channel": "sales"},
            enabled=True,
        )
        InstanceAuth.objects.create(instance=instance, slot=slot.external_id, authentication=auth)
    return time.perf_counter() - start


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def compare_requests(world, requests_each: int, warmup: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from embedded.models import SolutionInstance

    client, api = world["client"], world["api"]
    instance = SolutionInstance.objects.filter(enabled=True, end_user__external_user_id="api-0")
    instance = instance.get()
    auth_id = instance.auth_bindings.get().authentication_id
    body = {"method": "GET", "path": "/echo"}
    calls = {
        "slot": lambda: ok(
            client.post(
                f"{api}/instances/{instance.pk}/request/", {**body, "slot": "crm"}, format="json"
            )
        ),
        "auth": lambda: ok(
            client.post(f"{api}/authentications/{auth_id}/request/", body, format="json")
        ),
    }
    for _ in range(warmup):
        for call in calls.values():
            call()
    # Counted after the warm-up, when both see the same state (last_used_at is written at most
    # once a minute, so neither pays that UPDATE here).
    queries = {}
    for name, call in calls.items():
        with CaptureQueriesContext(connection) as captured:
            result = call()
        assert result["status"] == 200, result
        queries[name] = len(captured)
    timings = {name: [] for name in calls}
    for _ in range(requests_each):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - start) * 1000)
    return timings, queries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end-users", type=int, default=300)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args(argv)

    configure(args.database_url or DEFAULT_DATABASE_URL)
    from tests.oauth_server.fixture import OAuthServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    server = OAuthServer.start(workdir / "oauth_server")
    try:
        world = build_world(server, args.end_users)
        auths = world["auths"]
        # Interleave in halves so both sides see the same table sizes and machine state.
        half = args.end_users // 2
        orm_seconds = onboard_through_orm(world, auths[:half], 0)
        api_seconds = onboard_through_api(world, auths[args.end_users : args.end_users + half], 0)
        orm_seconds += onboard_through_orm(world, auths[half : half * 2], half)
        api_seconds += onboard_through_api(
            world, auths[args.end_users + half : args.end_users + half * 2], half
        )
        timings, queries = compare_requests(world, args.requests, args.warmup)
    finally:
        server.stop()

    count = half * 2
    api_rate, orm_rate = count / api_seconds, count / orm_seconds
    print(f"Embedded onboarding, {count} end users each way (PostgreSQL)\n")
    print("| path | end users onboarded per second | ms each |")
    print("| --- | --- | --- |")
    print(
        f"| API: end user + bound, configured instance + enable (3 calls) | {api_rate:.1f} | "
        f"{1000 / api_rate:.2f} |"
    )
    print(f"| ORM baseline: the same rows, no checks | {orm_rate:.1f} | {1000 / orm_rate:.2f} |")
    print(
        f"\nRatio API / ORM: {api_rate / orm_rate:.2f} (the API's rate as a share of the floor)\n"
    )

    slot, auth = timings["slot"], timings["auth"]
    print(f"Calling the provider, {args.requests} GETs each way, interleaved\n")
    print("| endpoint | median ms | p99 ms | database queries |")
    print("| --- | --- | --- | --- |")
    print(
        f"| `instances/<id>/request/` by slot | {statistics.median(slot):.2f} | "
        f"{percentile(slot, 0.99):.2f} | {queries['slot']} |"
    )
    print(
        f"| `authentications/<id>/request/` | {statistics.median(auth):.2f} | "
        f"{percentile(auth, 0.99):.2f} | {queries['auth']} |"
    )
    print(
        f"\nRatio slot / plain: median {statistics.median(slot) / statistics.median(auth):.2f}x, "
        f"p99 {percentile(slot, 0.99) / percentile(auth, 0.99):.2f}x; "
        f"extra queries {queries['slot'] - queries['auth']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
