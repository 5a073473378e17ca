"""Settings of the Celery worker subprocess in the lifecycle worker tests: the test settings with
short retry, cooldown and lease times, so faults resolve in seconds, and loopback http allowed for
the local OAuth server and webhook receiver."""

from config.settings.test import *  # noqa: F403

EGRESS_ALLOW_INSECURE_LOCAL = True
REFRESH_RETRY_BASE_SECONDS = 0.4
REFRESH_RETRY_MAX_SECONDS = 2
REFRESH_MAX_RETRIES = 3
REFRESH_FAILURE_COOLDOWN_SECONDS = 1
REFRESH_EXHAUSTED_COOLDOWN_SECONDS = 3
REFRESH_CLAIM_LEASE_SECONDS = 5
NOTIFICATION_RETRY_BASE_SECONDS = 0.3
