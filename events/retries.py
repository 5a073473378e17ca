"""How often and how patiently an email or a webhook delivery is retried (one policy for both)."""

from django.conf import settings

MAX_RETRY_DELAY_SECONDS = 6 * 3600


def delivery_max_attempts() -> int:
    return settings.NOTIFICATION_MAX_ATTEMPTS


def delivery_retry_delay(attempt: int) -> float:
    """Seconds before attempt number `attempt + 1`: doubling from the base, capped at 6 hours."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return min(base * (2 ** max(attempt - 1, 0)), MAX_RETRY_DELAY_SECONDS)
