"""Benchmark settings: the test settings (PostgreSQL + Redis from the environment) with persistent
database connections, as in production (CONN_MAX_AGE=60): without them every Celery task opens a
new PostgreSQL connection."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60
