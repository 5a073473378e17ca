import auths.admin_lifecycle  # noqa: F401  (lifecycle admin: events, webhooks, dashboard)
