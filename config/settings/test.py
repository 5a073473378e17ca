"""The test suite: PostgreSQL and Redis on 127.0.0.1 by default (see scripts/test)."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
DEBUG = False
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/test")}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
# Under pytest-xdist every worker gets its own Redis database (15, 14, ...), as it gets its own
# PostgreSQL test database: the worker tests flush theirs.
_xdist_worker = env("PYTEST_XDIST_WORKER", default="")
if _xdist_worker.startswith("gw"):
    _base, _, _db = REDIS_URL.rpartition("/")
    REDIS_URL = f"{_base}/{int(_db or 15) - int(_xdist_worker[2:])}"
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Throttle counters per test process, never in the Redis database the worker tests flush. Rates so
# high the suite never meets them; tests/workspaces/test_throttling.py sets low ones.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    default=["X0Rr8cJk1v0e9o5v4C8b6G1mQ2p7Yw3sT9uL4nZ5aB0="],
)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are not collected for tests; WhiteNoise would warn about the missing folder.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# Notes every URL answered successfully: the suite fails if one never is (tests/url_coverage.py).
MIDDLEWARE += ["tests.url_coverage.RecordingMiddleware"]
# Host names answer from a table (tests/resolver.py): no test waits on DNS.
EGRESS_RESOLVER = "tests.resolver.resolve"
