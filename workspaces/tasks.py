import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(time_limit=30, soft_time_limit=20)
def heartbeat() -> str:
    """Scheduled by beat every minute: proves the worker receives scheduled tasks (scripts/run)."""
    logger.info("heartbeat: worker received the beat-scheduled task")
    return "ok"
