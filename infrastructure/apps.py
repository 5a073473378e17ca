from django.apps import AppConfig


class InfrastructureConfig(AppConfig):
    """Below every app: guarded egress, encryption at rest, domain errors and their HTTP mapping.
    It knows no domain: nothing here imports an app of the platform."""

    name = "infrastructure"
    verbose_name = "Infrastructure"

    def ready(self):
        from infrastructure import checks  # noqa: F401  (registers the system checks)
