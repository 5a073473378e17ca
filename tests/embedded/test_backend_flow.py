"""The whole embedded backend flow, as a customer's backend drives it through the API with an
organization API key, against the real loopback OAuth provider: end user → authorization code →
published solution → instance → connect link for the instance's slot → the end user's consent in
a browser with no session → auth bound to the slot → config → enable → a request by slot that
reaches the provider with that end user's token."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from auths.models import Authentication
from embedded.codes import authorization_code_redeem
from embedded.models import CodePurpose
from tests.embedded.builders import (
    backend,
    browser_service,
    make_end_user,
    make_project,
    open_connect_link,
)

pytestmark = pytest.mark.django_db


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"organization_slug": tenant.organization.slug, **kwargs})


def test_the_backend_connects_an_end_user_and_calls_their_api_by_slot(embedded_tenant, server):
    tenant = embedded_tenant
    client = backend(tenant)
    service = browser_service(tenant, server)
    project = make_project(
        tenant,
        auth_slots=[
            {"external_id": "crm", "title": "Your CRM", "service": service, "scopes": ["read"]}
        ],
        config_slots=[
            {"external_id": "channel", "title": "Channel", "type": "string", "required": True}
        ],
    )
    origins = client.patch(
        url("organization-detail", tenant),
        {"allowed_origins": ["https://app.example.com"]},
        format="json",
    )
    assert origins.status_code == 200, origins.content

    # The customer's user, and a code (bound to nothing: no one wizard to name yet).
    end_user = make_end_user(tenant, external_user_id="acme-user-42")
    code = client.post(url("end-user-authorization-codes", tenant, pk=end_user.pk))
    assert code.status_code == 201, code.content
    assert code.json()["wizard_url"] is None

    # Published solution, and the end user's instance of it (disabled, nothing bound yet).
    solution = client.post(url("solution-list", tenant), {"project": str(project.pk)}).json()
    published = client.post(url("solution-publish", tenant, pk=solution["id"]))
    assert published.status_code == 201, published.content
    instance = client.post(
        url("instance-list", tenant),
        {"solution": solution["id"], "end_user": str(end_user.pk)},
        format="json",
    )
    assert instance.status_code == 201, instance.content
    instance_id = instance.json()["id"]
    assert instance.json()["auth_values"][0]["authentication_id"] is None

    # A connect link for the instance's CRM slot; the end user consents in their own browser.
    link = client.post(
        url("end-user-connect-links", tenant, pk=end_user.pk),
        {
            "instance": instance_id,
            "slot": "crm",
            "return_url": "https://app.example.com/integrations?step=crm",
        },
        format="json",
    )
    assert link.status_code == 201, link.content
    account = server.create_user("crm-account-of-acme-user-42")
    callback = open_connect_link(link.json()["url"], server, account)
    assert callback.status_code == 302, callback.content
    back = urlsplit(callback["Location"])
    assert (back.scheme, back.netloc, back.path) == ("https", "app.example.com", "/integrations")
    query = parse_qs(back.query)
    assert query["status"] == ["connected"] and query["step"] == ["crm"]
    auth_id = query["authentication_id"][0]

    # The auth is the end user's, and bound to the slot.
    detail = client.get(url("instance-detail", tenant, pk=instance_id)).json()
    assert detail["auth_values"] == [
        {"external_id": "crm", "authentication_id": auth_id, "status": "active"}
    ]
    auth = Authentication.objects.get(pk=auth_id)
    assert auth.end_user == end_user and auth.owner is None

    # Settings, enable, and the backend calls the end user's API by slot.
    configured = client.patch(
        url("instance-detail", tenant, pk=instance_id),
        {"config_values": {"channel": "#sales"}},
        format="json",
    )
    assert configured.status_code == 200 and configured.json()["problems"] == []
    enabled = client.post(url("instance-enable", tenant, pk=instance_id))
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True

    answer = client.post(
        url("instance-request", tenant, pk=instance_id),
        {"slot": "crm", "method": "GET", "path": "/echo/contacts"},
        format="json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == 200
    seen = answer.json()["body"]
    # The provider saw the end user's token: issued to the account that consented, for this app.
    assert '"username": "crm-account-of-acme-user-42"' in seen
    assert f'"client_id": "{service.client_id}"' in seen
    assert '"scope": "read"' in seen
    assert server.tokens(access_token=auth.access_token.reveal())["access_token_active"]
    # The backend never sees the token.
    assert auth.access_token.reveal() not in answer.content.decode()

    # The wizard code issued at the start is still good once, for this end user.
    redeemed = authorization_code_redeem(raw_code=code.json()["code"], purpose=CodePurpose.WIZARD)
    assert redeemed.end_user == end_user
