"""The Celery app: settings from Django's (namespace CELERY), tasks from every installed app.

Database connections in the worker: Celery's Django fixup closes every connection before and after
each task unless CELERY_DB_REUSE_MAX is set (celery/celery#9824 reverted honouring CONN_MAX_AGE),
so each refresh paid for a new PostgreSQL connection (a backend fork and authentication, ~40% of
the worker's time in the benchmark). Settings set CELERY_DB_REUSE_MAX (the fixup then only
force-closes every that many tasks) and the handler below gives tasks Django's own request
lifecycle instead: close_old_connections() before and after each task honours CONN_MAX_AGE (0, the
default, still closes every time) and CONN_HEALTH_CHECKS (a reused connection is checked before
its first query).
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False, dispatch_uid="config.celery_app.connections_before_task")
@task_postrun.connect(weak=False, dispatch_uid="config.celery_app.connections_after_task")
def connections_around_task(sender=None, task=None, **kwargs):
    # An eager task runs inside its caller's request or test transaction: leave that alone.
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()
