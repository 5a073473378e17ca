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
# Long enough that a refresh task waiting behind the scans drive() queues every 0.2 s on a loaded
# CI machine is not re-claimed before it runs (a 5 s lease let a second claim make a third token
# request in test_transient_provider_faults_are_retried_and_recover); no test waits for a lease.
REFRESH_CLAIM_LEASE_SECONDS = 30
NOTIFICATION_RETRY_BASE_SECONDS = 0.3
