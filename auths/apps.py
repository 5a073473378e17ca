from django.apps import AppConfig


class AuthsConfig(AppConfig):
    """Authentications as credentials: the model (secrets sealed at rest), service parameters, the
    token-endpoint protocol and scoped reads. Connecting and using them is connections/, keeping
    them alive is lifecycle/."""

    name = "auths"
    verbose_name = "Authentications"
