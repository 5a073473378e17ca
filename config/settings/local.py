"""Development and the embedded default (`scripts/run`)."""

from .base import *  # noqa: F403
from .base import env

# DEBUG stays off (base.py) unless DJANGO_DEBUG=true: scripts/run serves these settings through
# gunicorn, and a debug page shows settings and a 500's frame locals, credentials among them, to
# whoever triggers it. WhiteNoise serves the static files collectstatic gathered either way.

# scripts/run writes a random key into data/local.env on first start; this default only serves
# one-off management commands run before that.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-use-in-production")
