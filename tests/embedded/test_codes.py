"""One-time authorization codes: issued by the customer's backend for one end user, shown once and
stored hashed, redeemed once within 10 minutes, and refused with one answer whether unknown, used
or expired."""

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from embedded.codes import CodeRefused, authorization_code_create, authorization_code_redeem
from embedded.models import AuthorizationCode, CodePurpose, SolutionInstance
from embedded.solutions import solution_create, solution_publish
from tests.conftest import build_tenant
from tests.embedded.builders import backend, crm_service, make_end_user, make_project
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


def codes_url(tenant, end_user):
    return reverse(
        "end-user-authorization-codes",
        kwargs={"organization_slug": tenant.organization.slug, "pk": end_user.pk},
    )


def owner(tenant):
    return tenant.actor(tenant.owner)


def published_solution(tenant, server):
    service = crm_service(tenant, server)
    project = make_project(
        tenant, auth_slots=[{"external_id": "crm", "title": "CRM", "service": service}]
    )
    solution = solution_create(actor=owner(tenant), project=project)
    release = solution_publish(actor=owner(tenant), solution=solution)
    return solution, release


def instance_of(tenant, solution, release, end_user) -> SolutionInstance:
    return SolutionInstance.objects.create(
        organization=tenant.organization,
        solution=solution,
        release=release,
        end_user=end_user,
        name="Sync",
    )


def test_the_backend_gets_a_code_and_the_wizard_url_once(embedded_tenant, server):
    solution, release = published_solution(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant)
    instance = instance_of(embedded_tenant, solution, release, end_user)

    response = backend(embedded_tenant).post(
        codes_url(embedded_tenant, end_user), {"instance": str(instance.pk)}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # The instance's own wizard (edit, upgrade): pages/wizard_urls.py serves it.
    assert body["wizard_url"] == (
        f"http://testserver/embedded/{embedded_tenant.organization.slug}/instances/"
        f"{instance.pk}/configure/?code={body['code']}"
    )
    assert body["instance"] == str(instance.pk)
    assert body["solution"] == str(solution.pk)  # an instance's code opens its solution too
    code = AuthorizationCode.objects.get()
    assert code.purpose == CodePurpose.WIZARD and code.end_user == end_user
    expires_in = code.expires_at - code.created_at
    assert timedelta(minutes=9, seconds=59) < expires_in <= timedelta(minutes=10)


def test_a_solution_code_opens_the_solutions_wizard_and_an_unbound_one_names_none(
    embedded_tenant, server
):
    solution, _ = published_solution(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant)
    url = codes_url(embedded_tenant, end_user)

    bound = backend(embedded_tenant).post(url, {"solution": str(solution.pk)}, format="json")
    unbound = backend(embedded_tenant).post(url, {}, format="json")

    body = bound.json()
    assert body["wizard_url"] == (
        f"http://testserver/embedded/{embedded_tenant.organization.slug}/solutions/"
        f"{solution.pk}/configure/?code={body['code']}"
    )
    assert unbound.status_code == 201 and unbound.json()["wizard_url"] is None


def test_a_code_is_stored_only_as_its_hash(embedded_tenant):
    end_user = make_end_user(embedded_tenant)
    raw = backend(embedded_tenant).post(codes_url(embedded_tenant, end_user)).json()["code"]

    assert len(raw) >= 43  # secrets.token_urlsafe(32)
    assert AuthorizationCode.objects.get().code_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM embedded_authorizationcode")
        rows = cursor.fetchall()
    assert rows and raw not in repr(rows)


def test_a_code_works_once(embedded_tenant):
    end_user = make_end_user(embedded_tenant)
    _, raw = authorization_code_create(
        actor=owner(embedded_tenant), end_user=end_user, purpose=CodePurpose.WIZARD
    )

    redeemed = authorization_code_redeem(raw_code=raw, purpose=CodePurpose.WIZARD)

    assert redeemed.end_user == end_user and redeemed.used_at is not None
    with pytest.raises(CodeRefused):
        authorization_code_redeem(raw_code=raw, purpose=CodePurpose.WIZARD)


def test_a_code_expires_after_ten_minutes(embedded_tenant):
    end_user = make_end_user(embedded_tenant)
    issued = timezone.now() - timedelta(hours=1)  # a fixed clock: no sleeping
    _, fresh = authorization_code_create(
        actor=owner(embedded_tenant), end_user=end_user, purpose=CodePurpose.WIZARD, now=issued
    )
    _, stale = authorization_code_create(
        actor=owner(embedded_tenant), end_user=end_user, purpose=CodePurpose.WIZARD, now=issued
    )

    in_time = issued + timedelta(minutes=9, seconds=59)
    assert authorization_code_redeem(raw_code=fresh, purpose=CodePurpose.WIZARD, now=in_time)
    with pytest.raises(CodeRefused):
        authorization_code_redeem(
            raw_code=stale, purpose=CodePurpose.WIZARD, now=issued + timedelta(minutes=10)
        )
    assert AuthorizationCode.objects.filter(used_at__isnull=True).count() == 1  # not used up


def test_unknown_used_expired_and_other_purpose_get_the_same_answer(embedded_tenant):
    end_user = make_end_user(embedded_tenant)
    actor = owner(embedded_tenant)
    _, used = authorization_code_create(actor=actor, end_user=end_user, purpose="wizard")
    authorization_code_redeem(raw_code=used, purpose="wizard")
    _, expired = authorization_code_create(
        actor=actor, end_user=end_user, purpose="wizard", now=timezone.now() - timedelta(hours=1)
    )
    _, wizard_only = authorization_code_create(actor=actor, end_user=end_user, purpose="wizard")

    answers = []
    for raw, purpose in [
        ("made-up", "wizard"),
        (used, "wizard"),
        (expired, "wizard"),
        (wizard_only, "connect"),
        ("x" * 5000, "wizard"),
    ]:
        with pytest.raises(CodeRefused) as refused:
            authorization_code_redeem(raw_code=raw, purpose=purpose)
        answers.append((refused.value.message, refused.value.code, refused.value.status_code))
    assert len(set(answers)) == 1
    assert answers[0][1] == "code_invalid" and answers[0][2] == 403
    # Refused under another purpose, the wizard code is still good for its own.
    assert authorization_code_redeem(raw_code=wizard_only, purpose="wizard")


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_have_exactly_one_winner(embedded_tenant):
    end_user = make_end_user(embedded_tenant)
    _, raw = authorization_code_create(
        actor=owner(embedded_tenant), end_user=end_user, purpose=CodePurpose.WIZARD
    )
    racers = 8
    start = threading.Barrier(racers)

    def redeem():
        try:
            start.wait(timeout=10)
            authorization_code_redeem(raw_code=raw, purpose=CodePurpose.WIZARD)
            return "won"
        except CodeRefused:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(redeem) for _ in range(racers)]]

    assert sorted(results) == ["refused"] * (racers - 1) + ["won"]


def test_a_code_for_another_end_users_instance_is_refused(embedded_tenant, server):
    solution, release = published_solution(embedded_tenant, server)
    end_user, someone_else = make_end_user(embedded_tenant), make_end_user(embedded_tenant)
    theirs = instance_of(embedded_tenant, solution, release, someone_else)

    response = backend(embedded_tenant).post(
        codes_url(embedded_tenant, end_user), {"instance": str(theirs.pk)}, format="json"
    )

    assert response.status_code == 400
    assert "belongs to another end user" in response.json()["error"]["fields"]["instance"][0]
    assert not AuthorizationCode.objects.exists()


def test_a_code_bound_to_a_solution_needs_it_published(embedded_tenant, server):
    service = crm_service(embedded_tenant, server)
    project = make_project(
        embedded_tenant, auth_slots=[{"external_id": "crm", "title": "CRM", "service": service}]
    )
    draft = solution_create(actor=owner(embedded_tenant), project=project)
    end_user = make_end_user(embedded_tenant)
    client = backend(embedded_tenant)

    refused = client.post(
        codes_url(embedded_tenant, end_user), {"solution": str(draft.pk)}, format="json"
    )
    assert refused.status_code == 400
    assert "not been published" in refused.json()["error"]["fields"]["solution"][0]

    solution_publish(actor=owner(embedded_tenant), solution=draft)
    done = client.post(
        codes_url(embedded_tenant, end_user), {"solution": str(draft.pk)}, format="json"
    )
    assert done.status_code == 201 and done.json()["solution"] == str(draft.pk)
    assert done.json()["instance"] is None


def test_a_code_cannot_join_an_instance_to_another_solution(embedded_tenant, server):
    solution, release = published_solution(embedded_tenant, server)
    other, _ = published_solution(embedded_tenant, server)
    end_user = make_end_user(embedded_tenant)
    instance = instance_of(embedded_tenant, solution, release, end_user)

    response = backend(embedded_tenant).post(
        codes_url(embedded_tenant, end_user),
        {"solution": str(other.pk), "instance": str(instance.pk)},
        format="json",
    )

    assert response.status_code == 400
    assert "another solution" in response.json()["error"]["message"]


def test_only_owner_admin_and_organization_key_issue_codes(embedded_tenant, api):
    end_user = make_end_user(embedded_tenant)
    url = codes_url(embedded_tenant, end_user)
    for person in (embedded_tenant.contributor, embedded_tenant.viewer):
        assert api.as_user(person).post(url).status_code == 403
    assert api.as_user(embedded_tenant.admin).post(url).status_code == 201
    assert api.as_user(embedded_tenant.owner).post(url).status_code == 201


def test_another_organizations_end_user_does_not_exist_here(embedded_tenant):
    rival = build_tenant(edition=Edition.EMBEDDED, name="Rival")
    foreign = make_end_user(rival)
    response = backend(embedded_tenant).post(codes_url(embedded_tenant, foreign))
    assert response.status_code == 404


def test_a_platform_organization_hears_about_the_edition(tenant):
    end_user = make_end_user(tenant)
    response = backend(tenant).post(codes_url(tenant, end_user))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "embedded_edition_required"
