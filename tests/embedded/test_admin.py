"""Solutions and instances in the admin: an org owner sees their own only, publishes through the
domain, and reads each instance's bound auths' health (never a secret)."""

import pytest
from django.urls import reverse

from embedded.instances import instance_create
from embedded.solutions import solution_create, solution_publish
from tests.conftest import build_tenant
from tests.embedded.builders import crm_service, end_user_auth, make_end_user, make_project
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


def test_an_owner_publishes_and_reads_instance_health_but_never_another_organizations(
    embedded_tenant, server, client
):
    owner = embedded_tenant.actor(embedded_tenant.owner)
    service = crm_service(embedded_tenant, server)
    project = make_project(
        embedded_tenant, auth_slots=[{"external_id": "crm", "title": "CRM", "service": service}]
    )
    solution = solution_create(actor=owner, project=project)
    solution_publish(actor=owner, solution=solution)
    end_user = make_end_user(embedded_tenant)
    auth = end_user_auth(end_user, service, server)
    instance = instance_create(
        actor=owner,
        solution=solution,
        end_user=end_user,
        auth_values=[{"external_id": "crm", "authentication_id": str(auth.pk)}],
    )
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    theirs = solution_create(
        actor=rival.actor(rival.owner),
        project=make_project(
            rival, auth_slots=[{"external_id": "x", "title": "X", "service": service}]
        ),
        name="Their secret plan",
    )

    client.force_login(embedded_tenant.owner)
    listing = client.get(reverse("admin:embedded_solution_changelist")).content.decode()
    assert solution.name in listing and "Their secret plan" not in listing
    other = client.get(reverse("admin:embedded_solution_change", args=[theirs.pk]))
    assert other.status_code in (302, 404)

    project.config_slots.create(external_id="tone", title="Tone", default="calm")
    published = client.post(
        reverse("admin:embedded_solution_changelist"),
        {"action": "publish", "_selected_action": [str(solution.pk)]},
        follow=True,
    )
    assert "release 2 published; 1 instance(s) upgraded" in published.content.decode()

    page = client.get(reverse("admin:embedded_solutioninstance_change", args=[instance.pk]))
    html = page.content.decode()
    assert f"crm: {auth.pk} (active)" in html
    assert "Nothing: it can be enabled." in html
    assert auth.access_token.reveal() not in html
