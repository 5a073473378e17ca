"""Development and the embedded default (`scripts/run`)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# scripts/run writes a random key into data/local.env on first start; this default only serves
# one-off management commands run before that.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-use-in-production")
