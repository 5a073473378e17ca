"""The one mapping of errors to HTTP: a row kept by a foreign key is a conflict, never a 500."""

import pytest
from django.db.models import ProtectedError

from infrastructure.api_errors import exception_handler
from tests.lifecycle.factories import make_auth
from workspaces.shared_workspaces import workspace_create

pytestmark = pytest.mark.django_db


def test_a_protected_error_that_reaches_the_api_is_a_409_naming_what_holds_the_row(tenant):
    workspace = workspace_create(actor=tenant.actor(tenant.owner), name="Team")
    make_auth(tenant, workspace=workspace, name="Team CRM")
    with pytest.raises(ProtectedError) as caught:
        workspace.delete()  # bypassing the domain function, as a future caller might

    response = exception_handler(caught.value, {})

    assert response.status_code == 409
    assert response.data["error"] == {
        "code": "conflict",
        "message": "This cannot be deleted while 1 authentication (Team CRM) uses it: move or "
        "delete it first.",
    }
