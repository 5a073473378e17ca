"""Names are one line of text: wherever people name something (an authentication, a service, a
workspace, an organization, an API key, a person), a line break, carriage return, tab or any other
control character is refused with 400 naming the field. A name ends up in email subjects, log
lines and the admin; a line break in a header made the notification email fail after commit."""

import pytest
from django.urls import reverse

from auths.models import Authentication
from tests.connections.helpers import custom_service
from tests.lifecycle.factories import make_auth
from tests.services.builders import oauth2_definition
from workspaces.shared_workspaces import workspace_create

pytestmark = pytest.mark.django_db

BAD_NAMES = {
    "line feed": "a\nb",
    "carriage return": "a\rb",
    "tab": "a\tb",
    "escape": "a\x1b[2Jb",
    "bell": "a\x07b",
    "line separator": "a\u2028b",
}


def org(tenant, name, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def token_auth(tenant, name):
    return (
        "post",
        org(tenant, "authentication-token"),
        {
            "service": str(custom_service(tenant).pk),
            "name": name,
            "credentials": {"api_key": "k-1234567890"},
        },
        "name",
    )


def rename_auth(tenant, name):
    auth = make_auth(tenant, owner=tenant.owner)
    return "patch", org(tenant, "authentication-detail", pk=auth.pk), {"name": name}, "name"


def generic_auth(tenant, name):
    definition = {
        "base_url": "https://weather.example/v2",
        "credential_placement": "query",
        "credential_query_param": "apikey",
    }
    body = {"name": name, "definition": definition, "credentials": {"api_key": "w-123456789"}}
    return "post", org(tenant, "authentication-generic"), body, "name"


def custom_service_create(tenant, name):
    body = {**oauth2_definition(name=name), "client_secret": "s3cret-client-value"}
    return "post", org(tenant, "custom-service-list"), body, "name"


def parameter_title(tenant, name):
    definition = oauth2_definition(parameters=[{"name": "subdomain", "title": name}])
    body = {**definition, "client_secret": "s3cret-client-value"}
    return "post", org(tenant, "custom-service-list"), body, "parameters[0].title"


def workspace_new(tenant, name):
    return "post", org(tenant, "workspace-list"), {"name": name}, "name"


def workspace_rename(tenant, name):
    workspace = workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    return "patch", org(tenant, "workspace-detail", pk=workspace.pk), {"name": name}, "name"


def organization_rename(tenant, name):
    return "patch", org(tenant, "organization-detail"), {"name": name}, "name"


def organization_api_key(tenant, name):
    return "post", org(tenant, "organization-api-key-list"), {"name": name}, "name"


def user_api_key(tenant, name):
    return "post", reverse("user-api-key-list"), {"name": name}, "name"


def member_add(tenant, name):
    body = {"email": "new.person@example.com", "name": name, "role": "viewer"}
    return "post", org(tenant, "member-list"), body, "name"


WHERE_PEOPLE_NAME_THINGS = [
    token_auth,
    rename_auth,
    generic_auth,
    custom_service_create,
    parameter_title,
    workspace_new,
    workspace_rename,
    organization_rename,
    organization_api_key,
    user_api_key,
    member_add,
]


@pytest.mark.parametrize("where", WHERE_PEOPLE_NAME_THINGS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", sorted(BAD_NAMES))
def test_a_name_with_a_control_character_is_refused_naming_the_field(where, bad, tenant, api):
    method, url, body, field = where(tenant, BAD_NAMES[bad])

    response = getattr(api.as_user(tenant.owner), method)(url, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [field]
    assert "single line" in error["message"]


@pytest.mark.parametrize("where", WHERE_PEOPLE_NAME_THINGS, ids=lambda f: f.__name__)
def test_an_ordinary_name_is_accepted(where, tenant, api):
    method, url, body, _ = where(tenant, "Ünïcode name — with “quotes” and émoji 🙂")
    response = getattr(api.as_user(tenant.owner), method)(url, body, format="json")
    assert response.status_code in (200, 201), response.content


def test_an_authentication_named_a_newline_b_is_refused_and_not_created(tenant, api):
    method, url, body, _ = token_auth(tenant, "a\nb")
    response = api.as_user(tenant.contributor).post(url, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["name"] == [response.json()["error"]["message"]]
    assert "line break" in response.json()["error"]["message"]
    assert not Authentication.objects.exists()
