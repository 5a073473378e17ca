"""A small Celery app on the embedded default's broker (infrastructure/filesystem_broker.py), for
the soak test: tasks that publish tasks, tasks that retry, and a mark on disk for every task that
completed. Folders come from SOAK_DIR."""

import os
from pathlib import Path

from celery import Celery

SOAK_DIR = Path(os.environ.get("SOAK_DIR", "/tmp/soak"))
BROKER = SOAK_DIR / "broker"

app = Celery("soak")
app.conf.update(
    broker_url="filesystem://",
    broker_transport="infrastructure.filesystem_broker:Transport",
    broker_transport_options={
        "data_folder_in": str(BROKER / "queue"),
        "data_folder_out": str(BROKER / "queue"),
        "processed_folder": str(BROKER / "processed"),
        "control_folder": str(BROKER / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    },
    task_acks_late=True,
    worker_prefetch_multiplier=4,
    task_ignore_result=True,
    accept_content=["json"],
    task_serializer="json",
    worker_hijack_root_logger=False,
)


@app.task(bind=True, max_retries=3)
def leaf(self, key: str, fail_first: bool = False):
    if fail_first and self.request.retries == 0:
        raise self.retry(countdown=0.05)
    done = SOAK_DIR / "done"
    done.mkdir(parents=True, exist_ok=True)
    (done / key).touch()


@app.task
def fan_out(prefix: str, count: int):
    for index in range(count):
        leaf.delay(f"{prefix}-{index}", fail_first=index % 7 == 0)
