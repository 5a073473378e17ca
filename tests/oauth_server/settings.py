"""Settings of the test authorization server. Independent of the main project.

``serve.py`` sets ``OAUTH_TEST_SERVER_DB`` (the SQLite file) before Django
loads this module. Set ``OAUTH_TEST_SERVER_VERBOSE=1`` to log every request
to stderr.
"""

import os
import tempfile

from tests.oauth_server.state import access_token_expires_in

VERBOSE = os.environ.get("OAUTH_TEST_SERVER_VERBOSE", "") not in ("", "0")

# A throwaway key: this server only ever runs on loopback inside tests.
SECRET_KEY = "oauth-test-server-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
]

# No CsrfViewMiddleware: the consent form is posted by a scripted
# requests.Session, and this server is a test double bound to loopback.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
# Cookie sessions: logging in writes nothing to the database, which keeps
# SQLite write contention to the token tables.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

ROOT_URLCONF = "tests.oauth_server.urls"
LOGIN_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,  # DOT's consent page oauth2_provider/authorize.html
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
STATIC_URL = "/static/"  # DOT's base template loads a stylesheet via {% static %}

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "OAUTH_TEST_SERVER_DB", os.path.join(tempfile.gettempdir(), "oauth_test_server.sqlite3")
        ),
        "OPTIONS": {
            # The server is threaded: concurrent writers wait for the lock
            # instead of failing with "database is locked".
            "timeout": 60,
            # Take the write lock when a transaction starts; a deferred
            # transaction that upgrades read->write can fail immediately with
            # "database is locked" regardless of the timeout.
            "transaction_mode": "IMMEDIATE",
            # WAL lets readers proceed while one writer holds the lock.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Fast hashing: user passwords and (hashed) client secrets are checked on
# every password/client-authenticated token request; the default PBKDF2 cost
# would make 50 concurrent token requests take tens of seconds.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

USE_TZ = True
TIME_ZONE = "UTC"

OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    # Reject PKCE "plain": the authorization code flow must use S256.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "ROTATE_REFRESH_TOKEN": True,
    # Replaying a rotated refresh token revokes its whole family.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # "introspection" lets a client-credentials token call /o/introspect/.
    "SCOPES": {"read": "Read scope", "write": "Write scope", "introspection": "Introspect tokens"},
    "DEFAULT_SCOPES": ["read", "write"],
    # The access-token lifetime is read from the runtime state at each
    # issuance (see state.access_token_expires_in).
    "EXTRA_SERVER_KWARGS": {"token_expires_in": access_token_expires_in},
    # Enforces the runtime refresh-token lifetime (see views.TestServerValidator).
    "OAUTH2_VALIDATOR_CLASS": "tests.oauth_server.views.TestServerValidator",
}

# Quiet by default: no request lines. Errors inside views still go to stderr
# (captured in the server log file by the fixture).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "stderr": {"class": "logging.StreamHandler"},
        # An empty handler list would fall back to logging.lastResort, which
        # prints warnings (django.server logs 4xx lines as warnings).
        "null": {"class": "logging.NullHandler"},
    },
    "loggers": {
        "django.server": {
            "handlers": ["stderr"] if VERBOSE else ["null"],
            "level": "INFO",
            "propagate": False,
        },
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        # DOT logs RFC 9700 nags for the password grant and query-string
        # tokens on every use; the tests exercise both on purpose.
        "oauth2_provider": {
            "handlers": ["stderr"],
            "level": "DEBUG" if VERBOSE else "ERROR",
            "propagate": False,
        },
    },
}
