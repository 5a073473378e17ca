"""Secrets at rest: round trip, key-id tags, wrong or missing keys raise (never hand back
ciphertext), the raw database column never holds plaintext, and rotate_encryption_keys moves every
EncryptedTextField value of every model to the newest key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from auths.models import Authentication
from infrastructure.encryption import (
    DecryptionError,
    Sealed,
    ciphertext_key_id,
    decrypt,
    encrypt,
    key_id,
    reencrypt,
)
from infrastructure.management.commands.rotate_encryption_keys import encrypted_fields
from services.models import Service
from tests.connections.helpers import custom_service
from tests.services.builders import make_custom_service, oauth2_definition

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PLAINTEXT = "plain-secret-value-42"


@pytest.fixture
def old_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    return settings


def raw_column(table: str, column: str, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_round_trip(old_key):
    ciphertext = encrypt(PLAINTEXT)
    assert PLAINTEXT not in ciphertext
    assert decrypt(ciphertext) == PLAINTEXT
    assert Sealed.seal(PLAINTEXT).reveal() == PLAINTEXT


def test_ciphertext_is_tagged_with_its_key_id(old_key):
    ciphertext = encrypt(PLAINTEXT)
    assert ciphertext.startswith(f"v1:{key_id(OLD_KEY)}:")
    assert ciphertext_key_id(ciphertext) == key_id(OLD_KEY)


def test_each_encryption_is_different(old_key):
    assert encrypt(PLAINTEXT) != encrypt(PLAINTEXT)


def test_unknown_key_raises_and_never_returns_ciphertext(old_key):
    ciphertext = encrypt(PLAINTEXT)
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError, match="not in FIELD_ENCRYPTION_KEYS") as caught:
        decrypt(ciphertext)
    assert PLAINTEXT not in str(caught.value)


def test_wrong_key_under_the_same_id_raises(old_key):
    ciphertext = encrypt(PLAINTEXT)
    forged = ciphertext[:-8] + ("A" * 8)
    with pytest.raises(DecryptionError, match="corrupted or tampered"):
        decrypt(forged)


def test_not_an_envelope_raises(old_key):
    with pytest.raises(DecryptionError):
        decrypt(PLAINTEXT)


def test_missing_keys_setting_refuses_to_work(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        encrypt(PLAINTEXT)


def test_sealed_value_never_shows_its_plaintext(old_key):
    sealed = Sealed.seal(PLAINTEXT)
    assert PLAINTEXT not in repr(sealed) and PLAINTEXT not in str(sealed)
    assert PLAINTEXT not in f"{sealed}"


def test_reencrypt_moves_to_the_primary_key(old_key):
    ciphertext = encrypt(PLAINTEXT)
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotated = reencrypt(ciphertext)
    assert ciphertext_key_id(rotated) == key_id(NEW_KEY)
    assert decrypt(rotated) == PLAINTEXT
    assert reencrypt(rotated) == rotated


@pytest.mark.django_db
def test_raw_database_column_never_holds_plaintext(old_key, tenant):
    service = make_custom_service(tenant, secret=PLAINTEXT)
    raw = raw_column("services_service", "client_secret", service.pk)
    assert PLAINTEXT not in raw
    assert raw.startswith(f"v1:{key_id(OLD_KEY)}:")
    assert Service.objects.get(pk=service.pk).client_secret.reveal() == PLAINTEXT


@pytest.mark.django_db
def test_reading_with_a_missing_key_raises_on_reveal(old_key, tenant):
    service = make_custom_service(tenant, secret=PLAINTEXT)
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    stored = Service.objects.get(pk=service.pk).client_secret
    with pytest.raises(DecryptionError):
        stored.reveal()


def test_rotation_finds_every_encrypted_field_of_every_model():
    found = {model._meta.label: names for model, names in encrypted_fields()}
    assert found["services.Service"] == ["client_secret"]
    assert {"access_token", "refresh_token", "api_key"} <= set(found["auths.Authentication"])


@pytest.mark.django_db
def test_rotation_command_reencrypts_under_the_new_primary(old_key, tenant):
    services = [
        make_custom_service(tenant, secret=f"{PLAINTEXT}-{i}", name=f"Svc {i}") for i in range(5)
    ]
    make_custom_service(tenant, secret=None, name="No secret")
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out, err = StringIO(), StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out, stderr=err)
    assert "re-encrypted 5 secret(s)" in out.getvalue()
    assert "services.Service" in err.getvalue()  # the progress bar
    for i, service in enumerate(services):
        raw = raw_column("services_service", "client_secret", service.pk)
        assert raw.startswith(f"v1:{key_id(NEW_KEY)}:")
        assert f"{PLAINTEXT}-{i}" not in raw
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can go now
    for i, service in enumerate(services):
        assert Service.objects.get(pk=service.pk).client_secret.reveal() == f"{PLAINTEXT}-{i}"
    again = StringIO()
    call_command("rotate_encryption_keys", "--no-progress", stdout=again)
    assert "re-encrypted 0 secret(s)" in again.getvalue()
    assert "5 already used it" in again.getvalue()


@pytest.mark.django_db
def test_rotation_dry_run_writes_nothing(old_key, tenant):
    service = make_custom_service(tenant, secret=PLAINTEXT)
    before = raw_column("services_service", "client_secret", service.pk)
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("rotate_encryption_keys", "--dry-run", "--no-progress", stdout=out)
    assert "would re-encrypt 1" in out.getvalue()
    assert raw_column("services_service", "client_secret", service.pk) == before


@pytest.mark.django_db
def test_rotation_stops_on_a_secret_under_an_unknown_key(old_key, tenant):
    make_custom_service(tenant, secret=PLAINTEXT)
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match="Add the missing key") as caught:
        call_command("rotate_encryption_keys", "--no-progress", stdout=StringIO())
    assert PLAINTEXT not in str(caught.value)


@pytest.mark.django_db
def test_rotation_covers_authentication_secrets_too(old_key, tenant):
    from auths.models import Authentication
    from workspaces.models import Workspace

    service = make_custom_service(tenant, secret=None)
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=Workspace.objects.get(personal_owner=tenant.membership(tenant.contributor)),
        service=service,
        owner=tenant.membership(tenant.contributor),
        name="Login",
        access_token="access-" + PLAINTEXT,
        refresh_token="refresh-" + PLAINTEXT,
    )
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_encryption_keys", "--no-progress", stdout=StringIO())
    for column in ("access_token", "refresh_token"):
        raw = raw_column("auths_authentication", column, auth.pk)
        assert raw.startswith(f"v1:{key_id(NEW_KEY)}:") and PLAINTEXT not in raw
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert Authentication.objects.get(pk=auth.pk).refresh_token.reveal() == "refresh-" + PLAINTEXT


# --- found in review ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_dumpdata_loaddata_round_trip_keeps_the_secret(tmp_path):
    service = Service.objects.create(
        source="connector",
        slug="rt",
        name="Round trip",
        auth_scheme="token",
        client_secret="s3cret",
    )
    dump = tmp_path / "dump.json"
    call_command("dumpdata", "services.service", output=str(dump))
    assert "s3cret" not in dump.read_text()
    Service.objects.all().delete()
    call_command("loaddata", str(dump))
    assert Service.objects.get(pk=service.pk).client_secret.reveal() == "s3cret"


@pytest.mark.django_db
def test_a_deferred_secret_is_loaded_not_read_as_missing():
    service = Service.objects.create(
        source="connector", slug="df", name="Deferred", auth_scheme="token", client_secret="s3cret"
    )
    deferred = Service.objects.only("name").get(pk=service.pk)
    assert deferred.client_secret.reveal() == "s3cret"


def test_model_forms_never_offer_an_encrypted_field():
    from django.forms import modelform_factory

    form_class = modelform_factory(Service, fields=["name", "client_secret"])
    assert "client_secret" not in form_class.base_fields


# --- a wrong key at runtime: a clear operator error, not a bare 500 ------------------------------


@pytest.mark.django_db
def test_a_key_that_does_not_match_the_data_answers_a_clear_error_through_the_api(
    old_key, tenant, api, caplog
):
    service = custom_service(tenant, base_url="https://api.example.com")
    auth = Authentication.objects.create(
        organization=tenant.organization,
        workspace=service.workspace,
        service=service,
        name="k",
        api_key=PLAINTEXT,
    )
    old_key.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the operator deployed another key
    response = api.as_user(tenant.owner).post(
        f"/api/organizations/{tenant.organization.slug}/authentications/{auth.pk}/request/",
        {"path": "/v1/me"},
        format="json",
    )
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "encryption_unavailable"
    assert "FIELD_ENCRYPTION_KEYS" in error["message"] and "operator" in error["message"]
    assert PLAINTEXT not in response.content.decode()
    # The operator's log line names the key the data needs.
    logged = [r.getMessage() for r in caplog.records if r.name == "infrastructure.api_errors"]
    assert any(key_id(OLD_KEY) in line for line in logged)
    assert not any(PLAINTEXT in line for line in logged)


@pytest.mark.django_db
def test_no_key_at_runtime_answers_a_clear_error_through_the_api(old_key, tenant, api):
    old_key.FIELD_ENCRYPTION_KEYS = []
    response = api.as_user(tenant.contributor).post(
        f"/api/organizations/{tenant.organization.slug}/custom-services/",
        {**oauth2_definition(), "client_secret": PLAINTEXT},
        format="json",
    )
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "encryption_unavailable"
    assert "FIELD_ENCRYPTION_KEYS" in response.json()["error"]["message"]
