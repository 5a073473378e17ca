from django.apps import AppConfig


class EmbeddedConfig(AppConfig):
    """The embedded edition: solutions published from projects as immutable releases, end users'
    one-time codes and connect links, and solution instances that bind end users' auths to slots."""

    name = "embedded"
    verbose_name = "Embedded"

    def ready(self):
        from embedded.end_user_events import end_user_event_context
        from events.recording import EVENT_CONTEXT_PROVIDERS

        # Events about an end user's auth name the end user, its instances and where to
        # re-authenticate (events sit below this app and cannot ask it themselves).
        if end_user_event_context not in EVENT_CONTEXT_PROVIDERS:
            EVENT_CONTEXT_PROVIDERS.append(end_user_event_context)
