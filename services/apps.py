from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_catalog(sender, using="default", **kwargs):
    from services.catalog import catalog_load

    catalog_load(using=using)


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Services"

    def ready(self):
        from services.custom_services import custom_services_hand_over
        from workspaces.members import DEACTIVATION_STEPS

        # A leaver's custom services go to the service account (or the deactivation is refused).
        if custom_services_hand_over not in DEACTIVATION_STEPS:
            DEACTIVATION_STEPS.append(custom_services_hand_over)
        post_migrate.connect(_load_catalog, sender=self, dispatch_uid="services_catalog_load")
