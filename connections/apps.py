from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    """Connecting accounts and using them: one module per flow, re-authentication, changes to an
    authentication, the HTTP client, and the authentications API and admin."""

    name = "connections"
    verbose_name = "Connections"
