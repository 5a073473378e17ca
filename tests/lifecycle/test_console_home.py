"""The admin's home page and the lifecycle dashboard: health at a glance with every number linked
to the list it counts, the first steps of a new organization, a chart that reads; an owner sees
their own organization only."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.models import AuthStatus
from events.models import DeliveryStatus, WebhookDelivery
from events.recording import event_record
from services.models import ServiceSource
from tests.factories import UserFactory, make_organization
from tests.lifecycle.factories import make_auth, make_service, make_webhook
from tests.services.builders import make_custom_service
from workspaces.access import actor_for
from workspaces.api_key_management import organization_api_key_create
from workspaces.invitations import member_invite
from workspaces.models import Edition

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def links(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def test_index_counts_auths_by_status_and_links_each_number_to_its_filtered_list(
    owner_client, tenant
):
    make_auth(tenant, name="Broken one", status=AuthStatus.NEEDS_REAUTH)
    make_auth(tenant, name="Fine one")
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Authentications by status" in page
    wanted = (
        f"{reverse('admin:auths_authentication_changelist')}"
        f"?organization={tenant.organization.pk}&status__exact=needs_reauth"
    )
    assert wanted in links(page)
    # The link lists exactly what the number counts.
    listed = owner_client.get(wanted).content.decode()
    assert "Broken one" in listed and "Fine one" not in listed
    # The site's own heading is still there (the admin login tests look for it).
    assert "Site administration" in page


def test_index_shows_a_flagged_service_with_the_action_and_its_auths(owner_client, tenant):
    service = make_service(name="Google (testing)", umbrella_status="test")
    make_auth(tenant, service, name="Drive")
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Google (testing)" in page
    assert "What to do:" in page and "Verify or publish the OAuth app" in page
    assert reverse("admin:services_service_change", args=[service.pk]) in links(page)
    assert (
        f"{reverse('admin:auths_authentication_changelist')}?organization="
        f"{tenant.organization.pk}&service={service.pk}"
    ) in links(page)


def test_index_lists_a_failing_webhook_with_its_last_error(owner_client, tenant):
    webhook = make_webhook(tenant, url="https://hooks.example/failing")
    event = event_record(authentication=make_auth(tenant), kind="needs_reauth")
    WebhookDelivery.objects.update_or_create(
        webhook=webhook,
        event=event,
        defaults={"status": DeliveryStatus.FAILED, "attempts": 5, "last_error": "HTTP 503"},
    )
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "https://hooks.example/failing" in page and "HTTP 503" in page
    assert (
        f"{reverse('admin:events_webhookdelivery_changelist')}?webhook={webhook.pk}"
        "&status__exact=failed"
    ) in links(page)


def test_start_here_lists_the_first_steps_and_disappears_once_they_are_done(owner_client, tenant):
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Start here" in page
    assert reverse("admin:services_service_add") in links(page)
    assert reverse("connections:connect", args=[tenant.organization.slug]) in links(page)
    assert reverse("admin:workspaces_organizationapikey_add") in links(page)
    # The tenant fixture has members already: that step is done.
    assert "<s>Invite a member</s>" in page

    make_custom_service(tenant, name="Our API")
    make_auth(tenant)
    organization_api_key_create(actor=tenant.actor(tenant.owner), name="backend")
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Start here" not in page


def test_an_organization_with_only_its_owner_is_asked_to_invite_someone(client, db):
    owner = UserFactory()
    organization = make_organization(owner=owner, edition=Edition.PLATFORM)
    client.force_login(owner)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:workspaces_invitation_add") in links(page)
    assert "<s>Invite a member</s>" not in page
    member_invite(
        actor=actor_for(organization=organization, user=owner),
        email="new@example.com",
        base_url="http://testserver/",
    )
    assert "<s>Invite a member</s>" in client.get(reverse("admin:index")).content.decode()


def test_an_owner_never_sees_another_organizations_health(owner_client, tenant, other_tenant):
    theirs = make_service(name="Their testing app", umbrella_status="test")
    make_auth(other_tenant, theirs, name="Their auth", status=AuthStatus.ERROR)
    make_webhook(other_tenant, url="https://hooks.example/theirs")
    make_custom_service(other_tenant, name="Their service")
    for url in (reverse("admin:index"), reverse("admin:lifecycle_dashboard")):
        page = owner_client.get(url).content.decode()
        assert "Their testing app" not in page and "Their auth" not in page
        assert "hooks.example/theirs" not in page
        assert str(other_tenant.organization.pk) not in page
    # Asking for the other organization by id shows one's own.
    page = owner_client.get(
        reverse("admin:index"), {"organization": other_tenant.organization.pk}
    ).content.decode()
    assert other_tenant.organization.name not in page


def test_dashboard_chart_has_axes_read_labels_and_a_table_with_links(owner_client, tenant):
    # Noon and 1 p.m. (UTC) the day after tomorrow: the same day of the chart, whenever it runs.
    day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    for name, hours in (("Dies soon", 12), ("Also soon", 13)):
        make_auth(
            tenant,
            name=name,
            schedule=False,
            refresh_token_expires_at=day + timedelta(hours=hours),
        )
    page = owner_client.get(reverse("admin:lifecycle_dashboard")).content.decode()
    assert 'class="axis"' in page
    assert "Day the refresh token dies (UTC)" in page and ">Auths</text>" in page
    # Count labels only on bars that have auths: no row of fourteen "0" labels.
    assert page.count('text-anchor="middle">0</text>') == 0
    assert "<caption>Auths whose refresh token dies, per day</caption>" in page
    day_links = [h for h in links(page) if "refresh_token_expires_at__gte" in h]
    assert day_links
    listed = owner_client.get(day_links[0]).content.decode()
    assert "Dies soon" in listed and "Also soon" in listed


def test_dashboard_rows_link_to_the_auth_and_the_service(owner_client, tenant):
    service = make_service(name="Some CRM")
    auth = make_auth(tenant, service, name="Expiring one", status=AuthStatus.EXPIRING)
    event_record(authentication=auth, kind="expiring", message="dies in 3 days")
    page = owner_client.get(reverse("admin:lifecycle_dashboard")).content.decode()
    assert reverse("admin:auths_authentication_change", args=[auth.pk]) in links(page)
    assert reverse("admin:services_service_change", args=[service.pk]) in links(page)
    all_events = (
        f"{reverse('admin:events_authevent_changelist')}?organization={tenant.organization.pk}"
    )
    assert all_events in links(page)
    listed = owner_client.get(all_events)
    assert listed.status_code == 200 and "dies in 3 days" in listed.content.decode()


def test_a_custom_service_declared_in_test_status_is_flagged_before_any_auth(owner_client, tenant):
    service = make_custom_service(tenant, name="Our app in testing")
    type(service).objects.filter(pk=service.pk).update(umbrella_status="test")
    assert service.source == ServiceSource.CUSTOM
    page = owner_client.get(reverse("admin:index")).content.decode()
    assert "Our app in testing" in page


def test_the_home_page_dashboard_and_auth_list_read_a_fixed_number_of_times(
    owner_client, tenant, django_assert_max_num_queries
):
    # Counted with 300 auths over 10 services (3 flagged): 21, 18 and 15 queries. The number
    # does not grow with the auths; before the owner's organizations were read once per request
    # the home page made 138.
    services = [
        make_service(name=f"S{i}", umbrella_status="test" if i < 3 else "unknown")
        for i in range(10)
    ]
    for index in range(60):
        make_auth(tenant, services[index % 10], schedule=False, name=f"A{index}")
    for name, most in (
        ("admin:index", 25),
        ("admin:lifecycle_dashboard", 22),
        ("admin:auths_authentication_changelist", 20),
    ):
        with django_assert_max_num_queries(most):
            assert owner_client.get(reverse(name)).status_code == 200
