import os

from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()
# The URLconf (so every view) now rather than on the first request: in gunicorn's arbiter, which
# preloads the app (config/gunicorn.py), the workers then fork with it loaded.
get_resolver().url_patterns  # noqa: B018 - imports the URLconf
# Nothing should have opened a database connection at import; if something did, a forked worker
# must not share it.
connections.close_all()
