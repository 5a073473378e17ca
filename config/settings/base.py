"""Settings shared by every environment. Values come from the environment (django-environ).

The embedded default needs nothing installed: a SQLite file in DATA_DIR and a Celery broker on the
filesystem. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    # OS environment variables take precedence over the file.
    env.read_env(str(BASE_DIR / ".env"))

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "data")))

# Off everywhere unless asked: a debug page shows settings and a 500's frame locals (credentials).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Error pages and reports hide the credential code's local variables even with DEBUG on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "infrastructure.error_reports.AlwaysSafeExceptionReporterFilter"
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# One way to write a time everywhere, the admin's lists and detail pages included:
# "2026-03-01 14:05 CET", in the viewer's zone (pages/middleware.py), the zone named.
FORMAT_MODULE_PATH = ["config.formats"]

# Where the web server listens (config/gunicorn.py reads the same variable) and the address people
# use to reach the site, when it is not that one (behind a proxy: https://platform.example.com).
# Printed sign-in instructions use SITE_URL, else WEB_BIND (workspaces/sign_in.py).
WEB_BIND = env("WEB_BIND", default="127.0.0.1:8000")
SITE_URL = env("SITE_URL", default="")

# Databases: PostgreSQL through psycopg 3 when DATABASE_URL is set, else the embedded SQLite file.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'platform.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE. IMMEDIATE transactions take the database write lock at
    # BEGIN, so every transaction.atomic() block that locks a row is serialised for real.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DJANGO_APPS = [
    "config.admin_apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    # Swagger UI and Redoc served by the platform itself (/api/docs/ works without internet).
    "drf_spectacular_sidecar",
    "axes",
]
# Bottom to top: an app imports only from the apps listed before it (tests/test_structure.py).
LOCAL_APPS = [
    "infrastructure",
    "workspaces",
    "services",
    "auths",
    "events",
    "lifecycle",
    "connections",
    "projects",
    "embedded",
    # Server-rendered pages (member sign-in and account; later connections, the wizard).
    "pages",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

AUTH_USER_MODEL = "workspaces.User"
# Members sign in on the member pages; org owners also have the admin (its own login).
LOGIN_URL = "account:sign-in"
LOGIN_REDIRECT_URL = "account:home"
# django-axes first: it refuses a locked-out sign-in before the password is checked. It needs the
# request: every authenticate() call passes it (Django's login forms do; tests use force_login).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before the session and API-key lookups: PostgreSQL text cannot hold a NUL character.
    "infrastructure.middleware.RefuseNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Every answer refuses framing unless it names who may frame it (the wizard pages); above the
    # CSRF middleware, so a framed page's CSRF cookie can be marked for a third-party frame.
    "pages.framing.FramingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Times in the viewer's zone, named (pages/time_zones.py).
    "pages.middleware.ViewerTimeZoneMiddleware",
    # Last: turns a lockout into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pages.context_processors.navigation",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="platform@localhost")
# How long an invitation link works (workspaces/invitations.py). It works once.
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)

# Brute-force protection of sign-in (django-axes, attempts in the database) ------------------------
# After LOGIN_FAILURE_LIMIT failed sign-ins for one account from one address, that account is
# locked for that address for LOGIN_LOCKOUT_MINUTES (a failure meanwhile starts the wait again);
# a success resets the count. Account and address together: nobody can lock someone else out from
# another address, and one address cannot guess one account's password. Addresses are REMOTE_ADDR
# (django-ipware is not installed, so X-Forwarded-For is never trusted for this).
# `python manage.py axes_reset_username EMAIL` unlocks an account at once.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Django's login forms pass the email as `username` to authenticate().
AXES_USERNAME_FORM_FIELD = "username"
# A locked-out sign-in (member pages and admin alike) gets this page, status 429.
AXES_LOCKOUT_TEMPLATE = "pages/locked_out.html"
AXES_COOLOFF_MESSAGE = (
    "Too many failed sign-ins for this account from your address: signing in is locked for "
    f"{LOGIN_LOCKOUT_MINUTES} minutes. Wait, or ask an administrator to unlock the account "
    "(python manage.py axes_reset_username EMAIL)."
)

# Django REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workspaces.api_keys.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # LimitOffsetPagination with a maximum limit and offset (PostgreSQL counts them in bigint).
    # DRF's parsers, the JSON one refusing NUL characters (PostgreSQL text cannot hold one).
    "DEFAULT_PARSER_CLASSES": [
        "infrastructure.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "infrastructure.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Operations grouped by what they act on (config/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "config.openapi.TaggedAutoSchema",
    "EXCEPTION_HANDLER": "infrastructure.api_errors.exception_handler",
    # Every caller has a budget of requests (workspaces/throttling.py); past it, 429 with
    # Retry-After. A person (session or user key) and each organization key: API_THROTTLE_USER_RATE;
    # anonymous callers, per address: API_THROTTLE_ANON_RATE. "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_CLASSES": [
        "workspaces.throttling.CallerRateThrottle",
        "workspaces.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_THROTTLE_USER_RATE", default="1200/minute"),
        "anon": env("API_THROTTLE_ANON_RATE", default="60/minute"),
    },
    # How many proxies in front of the web server set X-Forwarded-For: 0 trusts only the
    # connection's address, so a client cannot pick its own identity for the anonymous budget.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Connect platform API",
    "DESCRIPTION": "Organizations, workspaces, services and authentications.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrgRoleEnum": "workspaces.models.OrgRole",
        "WorkspaceRoleEnum": "workspaces.models.WorkspaceRole",
        "AuthEventKindEnum": "events.models.EventKind",
        "ConfigTypeEnum": "projects.models.ConfigType",
    },
    # The sections of /api/docs/, in this order (config/openapi.py puts each operation in one).
    "TAGS": [
        {"name": "organizations", "description": "Organizations, members, workspaces, API keys."},
        {"name": "services", "description": "Connectors and custom services."},
        {"name": "authentications", "description": "Authentications, OAuth flows, API calls."},
        {"name": "lifecycle", "description": "Auth events, notifications and webhooks."},
        {"name": "embedded", "description": "End users, solutions and instances."},
        {"name": "projects", "description": "Projects, workflows and their slots."},
    ],
    # Every asset of the docs pages comes from the platform (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl: Swagger UI would otherwise ask validator.swagger.io about the schema.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
# API keys are sent as `Authorization: Api-Key <key>`.
API_KEY_CUSTOM_HEADER = None

# Celery -------------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# The cache holds the API throttles' counters; every web process must see the same ones: Redis
# when there is one, else files in DATA_DIR (the embedded default).
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    # Embedded default: kombu's filesystem transport needs no server; ours writes each message
    # atomically and makes its folders (infrastructure/filesystem_broker.py). Web, worker and beat
    # on the same machine share the folders.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "infrastructure.filesystem_broker:Transport"
    BROKER_DIR = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Without this Celery's Django fixup closes the database connection around every task, whatever
# CONN_MAX_AGE says; config/celery_app.py applies CONN_MAX_AGE / CONN_HEALTH_CHECKS per task
# instead and the fixup only force-closes after this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Refreshes have a queue of their own, so notifications, the scan and other work never wait behind
# them (nor they behind notifications). Run workers for both queues: `-Q refresh,celery` (one
# worker, scripts/run) or one worker each (docker-compose.yml).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "lifecycle.tasks.refresh_authentications": {"queue": "refresh"},
    "lifecycle.tasks.refresh_authentication": {"queue": "refresh"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "workspaces.tasks.heartbeat",
        "schedule": env.float("HEARTBEAT_SECONDS", default=60.0),
    },
    # Token lifecycle (lifecycle/tasks.py): claim due refreshes; predictions and `expiring`.
    "scan-due-refreshes": {
        "task": "lifecycle.tasks.scan_due_refreshes",
        "schedule": env.float("REFRESH_SCAN_SECONDS", default=10.0),
        "options": {"expires": 60},
    },
    "evaluate-expiry": {
        "task": "lifecycle.tasks.evaluate_expiry",
        "schedule": env.float("EXPIRY_EVALUATION_SECONDS", default=3600.0),
        "options": {"expires": 3000},
    },
    # Event retention (events/retention.py): prune what is past EVENT_RETENTION_DAYS.
    "prune-events": {
        "task": "events.tasks.prune_events",
        "schedule": env.float("EVENT_PRUNE_SECONDS", default=3600.0),
        "options": {"expires": 3000},
    },
}
# Event retention (events/retention.py): events older than this many days are deleted, except the
# latest event of each kind of each auth; 0 keeps every event. Pruned this many per transaction.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=90)
EVENT_PRUNE_BATCH_SIZE = env.int("EVENT_PRUNE_BATCH_SIZE", default=5000)

# Token lifecycle (lifecycle/policy.py): retries of a failing refresh, and the pauses that keep one
# failing auth from causing a refresh storm. Seconds unless said otherwise.
REFRESH_RETRY_BASE_SECONDS = env.float("REFRESH_RETRY_BASE_SECONDS", default=15.0)
REFRESH_RETRY_MAX_SECONDS = env.float("REFRESH_RETRY_MAX_SECONDS", default=600.0)
REFRESH_MAX_RETRIES = env.int("REFRESH_MAX_RETRIES", default=5)
REFRESH_FAILURE_COOLDOWN_SECONDS = env.float("REFRESH_FAILURE_COOLDOWN_SECONDS", default=30.0)
REFRESH_EXHAUSTED_COOLDOWN_SECONDS = env.float("REFRESH_EXHAUSTED_COOLDOWN_SECONDS", default=900.0)
REFRESH_CLAIM_LEASE_SECONDS = env.int("REFRESH_CLAIM_LEASE_SECONDS", default=300)
# At most this many refreshes of one service run at once (lifecycle/concurrency.py): keep it below
# WORKER_CONCURRENCY, so one slow provider cannot take every refresh worker.
REFRESH_SLOTS_PER_SERVICE = env.int("REFRESH_SLOTS_PER_SERVICE", default=2)
# The scan queues one refresh task per this many due auths (lifecycle/batches.py), and a task
# refreshes them with this many threads (its own included), so providers' latency overlaps. Each
# thread holds a database connection: a worker process holds up to REFRESH_BATCH_THREADS.
REFRESH_BATCH_SIZE = env.int("REFRESH_BATCH_SIZE", default=50)
REFRESH_BATCH_THREADS = env.int("REFRESH_BATCH_THREADS", default=4)
# Early-expiry detection (lifecycle/early_expiry.py): a service's "likely in test status" flag
# changes at most once in this many seconds.
EARLY_EXPIRY_FLAG_HYSTERESIS_SECONDS = env.int(
    "EARLY_EXPIRY_FLAG_HYSTERESIS_SECONDS", default=24 * 3600
)
# Total deadlines of outbound calls (infrastructure/egress.py cuts a call at its deadline). A token
# request may take long (a slow provider still processes it, and with rotating refresh tokens an
# abandoned answer costs the auth); a service can set its own (token_request_timeout, <= 120 s).
TOKEN_REQUEST_DEADLINE_SECONDS = env.float("TOKEN_REQUEST_DEADLINE_SECONDS", default=60.0)
# One HTTP-client call, refresh and replay included.
HTTP_CLIENT_DEADLINE_SECONDS = env.float("HTTP_CLIENT_DEADLINE_SECONDS", default=30.0)

# Embedded edition (embedded/codes.py): how long a one-time authorization code or connect link
# stays valid after it is issued.
EMBEDDED_CODE_LIFETIME_MINUTES = env.int("EMBEDDED_CODE_LIFETIME_MINUTES", default=10)
# How long the config wizard or the auth-only dialog keeps an end user in once their code was
# exchanged (embedded/wizard.py): the session cookie and its row both expire then.
EMBEDDED_WIZARD_SESSION_MINUTES = env.int("EMBEDDED_WIZARD_SESSION_MINUTES", default=30)

# Notifications (events/): email and webhook deliveries share one retry policy.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=30.0)
NOTIFICATION_DEADLINE_SECONDS = env.float("NOTIFICATION_DEADLINE_SECONDS", default=15.0)
# Seconds an SMTP connection may block (Django's SMTP backend reads it).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Field encryption (client secrets, tokens). Keys are Fernet keys, newest first; not derived from
# SECRET_KEY so rotating the signing key does not re-key the data.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# Outbound HTTP: plain http and loopback/private hosts are refused unless this development switch is
# on. It allows plain http, loopback (127.0.0.0/8, ::1) and private networks (10/8, 172.16/12,
# 192.168/16, fc00::/7); link-local and cloud metadata addresses stay refused
# (infrastructure/egress.py: address_is_local_development). Never enable it in production.
EGRESS_ALLOW_INSECURE_LOCAL = env.bool("EGRESS_ALLOW_INSECURE_LOCAL", default=False)
# How host names are resolved for the egress guards: the system resolver; the tests answer from a
# table (tests/resolver.py) so that no test waits on DNS.
EGRESS_RESOLVER = "infrastructure.egress.system_resolver"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Query values never reach a log: an OAuth callback's URL holds the code and the state
    # (infrastructure/log_redaction.py; gunicorn's access log: config/gunicorn.py).
    "filters": {"redact_query_strings": {"()": "infrastructure.log_redaction.RedactQueryStrings"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_query_strings"],
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's request lines ("GET /api/oauth/callback/…?code=… HTTP/1.1"): through the
        # redacting handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # At DEBUG these log tokens (`Adding token %s to request.`); keep them at WARNING.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        # At DEBUG urllib3 logs each request line, query string included: a token sent as a query
        # parameter would land in the log.
        "urllib3": {"level": "WARNING"},
        # "AXES: BEGIN version …" on every start of every command; lockouts stay logged (WARNING).
        "axes.apps": {"level": "WARNING"},
    },
}
