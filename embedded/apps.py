from django.apps import AppConfig


class EmbeddedConfig(AppConfig):
    """The embedded edition: solutions published from projects as immutable releases, end users'
    one-time codes and connect links, and solution instances that bind end users' auths to slots."""

    name = "embedded"
    verbose_name = "Embedded"
