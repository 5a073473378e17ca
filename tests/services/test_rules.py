"""The custom-service rules of the product, in both editions, with every refusal."""

import pytest

from infrastructure.errors import NotAllowed, NotFound, RuleViolation
from services.custom_services import (
    custom_service_create,
    custom_service_delete,
    custom_service_transfer,
    custom_service_update,
    generic_definition_create,
)
from services.models import Service, ServiceSource
from tests.conftest import build_tenant
from tests.services.builders import make_custom_service, oauth2_definition, token_definition
from workspaces.members import member_deactivate
from workspaces.models import Edition, Workspace, WorkspaceKind
from workspaces.organizations import organization_update

pytestmark = pytest.mark.django_db


def personal(tenant, user):
    return Workspace.objects.get(personal_owner=tenant.membership(user))


def kind(tenant, kind):
    return Workspace.objects.get(organization=tenant.organization, kind=kind)


def create(tenant, user, workspace=None, **overrides):
    return custom_service_create(
        actor=tenant.actor(user),
        definition=oauth2_definition(**overrides),
        client_secret="client-secret-value",
        workspace=workspace,
    )


@pytest.fixture
def both_tenant(db):
    return build_tenant(edition=Edition.BOTH, name="Bothco")


# --- platform edition -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "contributor"])
def test_platform_member_creates_in_own_personal_workspace(tenant, role):
    user = getattr(tenant, role)
    service = create(tenant, user)
    assert service.source == ServiceSource.CUSTOM
    assert service.workspace == personal(tenant, user)
    assert service.owner == user and service.organization == tenant.organization


def test_platform_token_custom_service(tenant):
    service = custom_service_create(
        actor=tenant.actor(tenant.contributor), definition=token_definition()
    )
    assert service.auth_scheme == "token" and service.client_secret is None


def test_platform_viewer_is_refused(tenant):
    with pytest.raises(NotAllowed, match="Viewers cannot create custom services"):
        create(tenant, tenant.viewer)


@pytest.mark.parametrize("workspace_kind", [WorkspaceKind.ORGANIZATION, WorkspaceKind.SHARED])
def test_platform_refuses_organization_and_shared_workspaces(tenant, workspace_kind):
    if workspace_kind == WorkspaceKind.SHARED:
        from workspaces.shared_workspaces import workspace_create

        workspace = workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    else:
        workspace = kind(tenant, workspace_kind)
    with pytest.raises(RuleViolation) as caught:
        create(tenant, tenant.owner, workspace=workspace)
    assert caught.value.field == "workspace"
    assert "personal workspace" in caught.value.message


def test_platform_refuses_someone_elses_personal_workspace(tenant):
    with pytest.raises(NotAllowed, match="Only the owner of a personal workspace"):
        create(tenant, tenant.owner, workspace=personal(tenant, tenant.contributor))


def test_platform_contributor_cannot_see_another_personal_workspace(tenant):
    with pytest.raises(NotFound):
        create(tenant, tenant.contributor, workspace=personal(tenant, tenant.admin))


def test_platform_org_has_no_embedded_workspace_so_default_is_personal(tenant):
    assert not Workspace.objects.filter(
        organization=tenant.organization, kind=WorkspaceKind.EMBEDDED
    ).exists()


def test_another_organizations_workspace_is_not_found(tenant, other_tenant):
    with pytest.raises(NotFound):
        create(tenant, tenant.owner, workspace=personal(other_tenant, other_tenant.owner))


# --- embedded edition -----------------------------------------------------------------------------


def test_embedded_owner_creates_in_embedded_workspace(embedded_tenant):
    service = create(embedded_tenant, embedded_tenant.owner)
    assert service.workspace.kind == WorkspaceKind.EMBEDDED
    assert service.owner == embedded_tenant.owner


def test_embedded_owner_creates_token_service(embedded_tenant):
    service = custom_service_create(
        actor=embedded_tenant.actor(embedded_tenant.owner), definition=token_definition()
    )
    assert service.workspace.kind == WorkspaceKind.EMBEDDED


@pytest.mark.parametrize("role", ["admin", "contributor", "viewer"])
def test_embedded_only_the_org_owner_creates(embedded_tenant, role):
    with pytest.raises(NotAllowed, match="Only the organization owner"):
        create(embedded_tenant, getattr(embedded_tenant, role))


def test_embedded_refuses_personal_workspace(embedded_tenant):
    with pytest.raises(RuleViolation, match="embedded edition only") as caught:
        create(
            embedded_tenant,
            embedded_tenant.owner,
            workspace=personal(embedded_tenant, embedded_tenant.owner),
        )
    assert caught.value.field == "workspace"


def test_embedded_refuses_organization_workspace(embedded_tenant):
    with pytest.raises(RuleViolation, match="embedded workspace, by the organization owner"):
        create(
            embedded_tenant,
            embedded_tenant.owner,
            workspace=kind(embedded_tenant, WorkspaceKind.ORGANIZATION),
        )


def test_embedded_organization_api_key_cannot_create(embedded_tenant):
    from workspaces.access import actor_for
    from workspaces.models import OrganizationAPIKey

    key, _ = OrganizationAPIKey.objects.create_key(
        name="backend", organization=embedded_tenant.organization
    )
    actor = actor_for(organization=embedded_tenant.organization, api_key=key)
    with pytest.raises(NotAllowed):
        custom_service_create(
            actor=actor,
            definition=oauth2_definition(),
            workspace=kind(embedded_tenant, WorkspaceKind.EMBEDDED),
        )


# --- both editions --------------------------------------------------------------------------------


def test_both_editions_allow_personal_and_embedded(both_tenant):
    in_personal = create(both_tenant, both_tenant.contributor, name="Personal one")
    assert in_personal.workspace.kind == WorkspaceKind.PERSONAL
    in_embedded = create(
        both_tenant,
        both_tenant.owner,
        workspace=kind(both_tenant, WorkspaceKind.EMBEDDED),
        name="Embedded one",
    )
    assert in_embedded.workspace.kind == WorkspaceKind.EMBEDDED
    with pytest.raises(NotAllowed):
        create(
            both_tenant,
            both_tenant.admin,
            workspace=kind(both_tenant, WorkspaceKind.EMBEDDED),
            name="Admin try",
        )


# --- definition and slug --------------------------------------------------------------------------


def test_duplicate_slug_in_organization_is_refused(tenant, other_tenant):
    create(tenant, tenant.contributor)
    with pytest.raises(RuleViolation) as caught:
        create(tenant, tenant.admin)
    assert caught.value.field == "slug" and "choose another slug" in caught.value.message
    assert create(other_tenant, other_tenant.contributor).slug == "acme-crm"


def test_invalid_definition_saves_nothing(tenant):
    with pytest.raises(RuleViolation):
        create(tenant, tenant.contributor, token_url="")
    assert not Service.objects.filter(organization=tenant.organization).exists()


def test_client_secret_is_sealed(tenant):
    service = create(tenant, tenant.contributor)
    stored = Service.objects.get(pk=service.pk)
    assert repr(stored.client_secret) == "<sealed secret>"
    assert "client-secret-value" not in stored.client_secret.ciphertext


def test_bring_your_own_oauth_app_copies_the_connector(tenant):
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    service = custom_service_create(
        actor=tenant.actor(tenant.contributor),
        definition={"client_id": "our-app.apps.googleusercontent.com"},
        client_secret="our-google-secret",
        template=google,
    )
    assert service.template == google and service.source == ServiceSource.CUSTOM
    assert service.name == "Google (own OAuth app)" and service.slug == "google-own-oauth-app"
    assert service.token_url == google.token_url
    assert service.authorize_params["access_type"] == "offline"
    assert service.test_refresh_token_lifetime == 7 * 86400
    assert service.client_id == "our-app.apps.googleusercontent.com"


def test_bring_your_own_oauth_app_needs_a_client_id(tenant):
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    with pytest.raises(RuleViolation) as caught:
        custom_service_create(
            actor=tenant.actor(tenant.contributor), definition={}, template=google
        )
    assert caught.value.field == "client_id"


def test_template_must_be_a_connector(tenant, service):
    with pytest.raises(RuleViolation) as caught:
        custom_service_create(
            actor=tenant.actor(tenant.contributor),
            definition={"client_id": "x"},
            template=service,
        )
    assert caught.value.field == "template"


# --- who manages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["contributor", "owner", "admin"])
def test_owner_org_owner_and_admins_may_edit(tenant, service, role):
    updated = custom_service_update(
        actor=tenant.actor(getattr(tenant, role)), service=service, changes={"name": f"By {role}"}
    )
    assert updated.name == f"By {role}"


def test_other_members_may_not_edit_or_delete(tenant, service):
    other = make_custom_service(tenant, tenant.admin, name="Admin's")
    with pytest.raises(NotAllowed, match="pick it"):
        custom_service_update(actor=tenant.actor(tenant.viewer), service=service, changes={})
    with pytest.raises(NotAllowed):
        custom_service_delete(actor=tenant.actor(tenant.contributor), service=other)


def test_update_keeps_secret_unless_replaced_or_cleared(tenant, service):
    actor = tenant.actor(tenant.contributor)
    before = Service.objects.get(pk=service.pk).client_secret
    custom_service_update(actor=actor, service=service, changes={"description": "x"})
    assert Service.objects.get(pk=service.pk).client_secret == before
    custom_service_update(actor=actor, service=service, changes={}, client_secret="new-secret")
    assert Service.objects.get(pk=service.pk).client_secret != before
    custom_service_update(actor=actor, service=service, changes={}, clear_client_secret=True)
    assert Service.objects.get(pk=service.pk).client_secret is None


def test_update_is_validated_on_the_merged_definition(tenant, service):
    with pytest.raises(RuleViolation) as caught:
        custom_service_update(
            actor=tenant.actor(tenant.contributor), service=service, changes={"token_url": ""}
        )
    assert caught.value.field == "token_url"
    assert Service.objects.get(pk=service.pk).token_url.endswith("/oauth/token")


def test_connector_cannot_be_changed_by_tenants(tenant):
    google = Service.objects.get(source=ServiceSource.CONNECTOR, slug="google")
    with pytest.raises(NotFound):
        custom_service_update(actor=tenant.actor(tenant.owner), service=google, changes={})
    with pytest.raises(NotFound):
        custom_service_delete(actor=tenant.actor(tenant.owner), service=google)


def test_another_organizations_service_is_not_found(tenant, other_tenant):
    foreign = make_custom_service(other_tenant)
    with pytest.raises(NotFound):
        custom_service_update(actor=tenant.actor(tenant.owner), service=foreign, changes={})


def test_delete(tenant, service):
    custom_service_delete(actor=tenant.actor(tenant.owner), service=service)
    assert not Service.objects.filter(pk=service.pk).exists()


# --- ownership transfer and leavers ---------------------------------------------------------------


def test_transfer_to_another_member_moves_to_their_personal_workspace(tenant, service):
    moved = custom_service_transfer(
        actor=tenant.actor(tenant.contributor),
        service=service,
        new_owner=tenant.membership(tenant.admin),
    )
    assert moved.owner == tenant.admin
    assert moved.workspace == personal(tenant, tenant.admin)


def test_transfer_to_service_account(tenant, service):
    organization_update(
        actor=tenant.actor(tenant.owner),
        organization=tenant.organization,
        service_account=tenant.viewer,
    )
    moved = custom_service_transfer(
        actor=tenant.actor(tenant.owner), service=service, to_service_account=True
    )
    assert moved.owner == tenant.viewer


def test_transfer_refusals(tenant, other_tenant, service):
    actor = tenant.actor(tenant.contributor)
    with pytest.raises(RuleViolation, match="no service account"):
        custom_service_transfer(actor=actor, service=service, to_service_account=True)
    with pytest.raises(RuleViolation, match="viewer"):
        custom_service_transfer(
            actor=actor, service=service, new_owner=tenant.membership(tenant.viewer)
        )
    with pytest.raises(RuleViolation, match="active member"):
        custom_service_transfer(
            actor=actor, service=service, new_owner=other_tenant.membership(other_tenant.admin)
        )
    with pytest.raises(RuleViolation, match="already owns"):
        custom_service_transfer(
            actor=actor, service=service, new_owner=tenant.membership(tenant.contributor)
        )
    with pytest.raises(NotAllowed):
        custom_service_transfer(
            actor=tenant.actor(tenant.viewer),
            service=service,
            new_owner=tenant.membership(tenant.admin),
        )


def test_embedded_service_stays_in_embedded_workspace_on_transfer(embedded_tenant):
    service = create(embedded_tenant, embedded_tenant.owner)
    moved = custom_service_transfer(
        actor=embedded_tenant.actor(embedded_tenant.owner),
        service=service,
        new_owner=embedded_tenant.membership(embedded_tenant.admin),
    )
    assert moved.owner == embedded_tenant.admin
    assert moved.workspace.kind == WorkspaceKind.EMBEDDED


def test_deactivating_a_service_owner_without_service_account_is_refused(tenant, service):
    make_custom_service(tenant, name="Billing API")
    with pytest.raises(RuleViolation) as caught:
        member_deactivate(
            actor=tenant.actor(tenant.owner), membership=tenant.membership(tenant.contributor)
        )
    assert "'Acme CRM', 'Billing API'" in caught.value.message
    assert "service account" in caught.value.message
    assert tenant.membership(tenant.contributor).is_active


def test_deactivating_a_service_owner_hands_services_to_service_account(tenant, service):
    organization_update(
        actor=tenant.actor(tenant.owner),
        organization=tenant.organization,
        service_account=tenant.admin,
    )
    member_deactivate(
        actor=tenant.actor(tenant.owner), membership=tenant.membership(tenant.contributor)
    )
    moved = Service.objects.get(pk=service.pk)
    assert moved.owner == tenant.admin
    assert moved.workspace == personal(tenant, tenant.admin)
    assert not tenant.membership(tenant.contributor).is_active


def test_deactivating_a_member_without_services_needs_no_service_account(tenant):
    member_deactivate(actor=tenant.actor(tenant.owner), membership=tenant.membership(tenant.viewer))
    assert not tenant.membership(tenant.viewer).is_active


# --- generic service authentication definitions ------------------------------------------------


def test_generic_token_definition_is_created_inline(tenant):
    definition = generic_definition_create(
        actor=tenant.actor(tenant.contributor), definition=token_definition()
    )
    assert definition.source == ServiceSource.GENERIC and definition.auth_scheme == "token"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"auth_scheme": "oauth2"}, "auth_scheme"),
        ({"auth_scheme": "oauth1"}, "auth_scheme"),
        ({"grant_type": "client_credentials"}, "auth_scheme"),
        ({"token_url": "https://api.weather.example/token"}, "token_url"),
    ],
)
def test_generic_definition_refuses_oauth_pointing_to_custom_services(tenant, overrides, field):
    with pytest.raises(RuleViolation) as caught:
        generic_definition_create(
            actor=tenant.actor(tenant.contributor), definition=token_definition(**overrides)
        )
    assert caught.value.field == field and caught.value.code == "use_custom_service"
    assert "custom service" in caught.value.message


def test_generic_definition_needs_base_url_and_is_validated(tenant):
    actor = tenant.actor(tenant.contributor)
    with pytest.raises(RuleViolation) as caught:
        generic_definition_create(actor=actor, definition=token_definition(base_url=""))
    assert caught.value.field == "base_url"
    with pytest.raises(RuleViolation) as caught:
        generic_definition_create(
            actor=actor, definition=token_definition(base_url="https://169.254.169.254/")
        )
    assert caught.value.field == "base_url"


def test_generic_definitions_are_never_listed_as_services(tenant):
    from services.selectors import service_list_for_actor

    generic_definition_create(actor=tenant.actor(tenant.contributor), definition=token_definition())
    listed = service_list_for_actor(actor=tenant.actor(tenant.owner))
    assert not listed.filter(source=ServiceSource.GENERIC).exists()


def test_service_in_use_cannot_be_deleted(tenant, service):
    from auths.models import Authentication

    Authentication.objects.create(
        organization=tenant.organization,
        workspace=Workspace.objects.get(personal_owner=tenant.membership(tenant.contributor)),
        service=service,
        owner=tenant.membership(tenant.contributor),
        name="My CRM login",
    )
    with pytest.raises(RuleViolation, match="used by 1 authentication"):
        custom_service_delete(actor=tenant.actor(tenant.contributor), service=service)
    assert Service.objects.filter(pk=service.pk).exists()
