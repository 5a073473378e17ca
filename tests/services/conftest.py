import pytest

from tests.services.builders import make_custom_service


@pytest.fixture
def service(tenant):
    return make_custom_service(tenant)
