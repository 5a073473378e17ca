"""Settings of the API benchmark's web server (bench/api.py): the benchmark settings
(bench/settings.py: PostgreSQL from DATABASE_URL, persistent connections) with the production URLs
plus one bench-only static endpoint (bench/api_urls.py), and without the test suite's URL-coverage
recorder. Never used outside bench/."""

from bench.settings import *  # noqa: F403
from bench.settings import MIDDLEWARE

ROOT_URLCONF = "bench.api_urls"
MIDDLEWARE = [m for m in MIDDLEWARE if m != "tests.url_coverage.RecordingMiddleware"]
