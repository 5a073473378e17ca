"""The authentications admin as a console: badges, cut-off text with the full text on hover,
filters by service / workspace / owner scoped to the organization, zoned times, recent events and
links to the member pages on an auth's page."""

import zoneinfo
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auths.models import AuthStatus
from events.recording import event_record
from tests.lifecycle.factories import make_auth, make_service
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:auths_authentication_changelist"


@pytest.fixture
def owner_client(client, tenant):
    client.force_login(tenant.owner)
    return client


def test_list_shows_a_badge_and_the_reason_cut_with_the_full_text_on_hover(owner_client, tenant):
    reason = "The provider refused the refresh token: invalid_grant. " * 4
    make_auth(tenant, name="Broken", status=AuthStatus.NEEDS_REAUTH, status_reason=reason)
    page = owner_client.get(reverse(CHANGELIST)).content.decode()
    assert 'class="badge badge--bad"' in page and "Needs re-authentication" in page
    assert f'title="{reason}"' in page and 'class="cell-truncated"' in page


def test_times_are_in_the_viewers_zone_with_the_zone_named(owner_client, tenant):
    dies = timezone.now().replace(microsecond=0) + timedelta(days=3)
    make_auth(tenant, name="Zoned", schedule=False, refresh_token_expires_at=dies)
    owner_client.cookies["time_zone"] = "Europe/Paris"
    page = owner_client.get(reverse(CHANGELIST)).content.decode()
    local = timezone.localtime(dies, timezone=zoneinfo.ZoneInfo("Europe/Paris"))
    assert f"{local:%Y-%m-%d %H:%M}" in page and "(Europe/Paris)" in page


def test_filters_offer_only_the_organizations_services_workspaces_and_owners(
    owner_client, tenant, other_tenant
):
    personal = Workspace.objects.get(personal_owner=tenant.membership(tenant.contributor))
    make_auth(tenant, make_service(name="Our service"), name="Ours")
    make_auth(tenant, make_service(name="Our other service"), name="Mine", workspace=personal)
    make_auth(other_tenant, make_service(name="Their service"), owner=other_tenant.contributor)
    page = owner_client.get(reverse(CHANGELIST)).content.decode()
    assert "By service" in page and "By workspace" in page and "By owner" in page
    assert "Our service" in page and "Their service" not in page
    assert other_tenant.contributor.email not in page


def test_auth_page_shows_recent_events_and_links_to_the_member_pages(owner_client, tenant):
    auth = make_auth(tenant, name="Drive")
    event_record(authentication=auth, kind="refresh_failed", message="timeout at the provider")
    page = owner_client.get(
        reverse("admin:auths_authentication_change", args=[auth.pk])
    ).content.decode()
    assert "timeout at the provider" in page and "Refresh failed" in page
    everything = f"{reverse('admin:events_authevent_changelist')}?authentication={auth.pk}"
    assert everything in page
    other = make_auth(tenant, name="Other")
    event_record(authentication=other, kind="refresh_failed", message="another failure")
    listed = owner_client.get(everything).content.decode()
    assert "timeout at the provider" in listed and "another failure" not in listed
    slug = tenant.organization.slug
    assert reverse("connections:reauthenticate", args=[slug, auth.pk]) in page
    assert reverse("connections:manage", args=[slug, auth.pk]) in page


def test_a_personal_workspace_is_named_once(owner_client, tenant):
    personal = Workspace.objects.get(personal_owner=tenant.membership(tenant.contributor))
    make_auth(tenant, name="Mine", workspace=personal)
    page = owner_client.get(reverse(CHANGELIST)).content.decode()
    assert "(personal) (personal)" not in page
    assert str(personal).count("(personal)") == 1
