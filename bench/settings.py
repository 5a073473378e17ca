"""Benchmark settings: the test settings (PostgreSQL + Redis from the environment) with persistent,
health-checked database connections, as in production (CONN_MAX_AGE=60, CONN_HEALTH_CHECKS): the
worker keeps one PostgreSQL connection per process (per thread with the threads pool) across
tasks instead of opening one per task (see config/celery_app.py)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
