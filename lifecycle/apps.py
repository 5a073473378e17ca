from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """Keeping authentications alive: refresh, scheduling, expiry prediction, early-expiry
    detection. It has no tables of its own: its columns live on auths.Authentication (so a refresh
    is one fenced UPDATE) and are written by lifecycle/state.py alone."""

    name = "lifecycle"
    verbose_name = "Token lifecycle"
