"""System checks of the infrastructure, registered by InfrastructureConfig.ready(). `manage.py
check` (and migrate, runserver and every management command) fails on an Error, so a deploy without
usable encryption keys stops before it serves a request instead of answering every secret
operation with an error."""

from django.conf import settings
from django.core.checks import Error, register

from infrastructure.encryption import HOW_TO_MAKE_A_KEY, keys_problems


@register()
def encryption_keys_check(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            problem,
            hint=f"{HOW_TO_MAKE_A_KEY}. Keep every older key the stored data still uses after "
            "the newest (python manage.py rotate_encryption_keys moves data to the newest).",
            id="infrastructure.E001",
        )
        for problem in keys_problems(settings.FIELD_ENCRYPTION_KEYS)
    ]
