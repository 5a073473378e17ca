"""gunicorn's configuration, for every way the web server starts: the Procfile's `web` line
(scripts/run), the Dockerfile's CMD and docker-compose's `web` service all run

    gunicorn --config config/gunicorn.py config.wsgi:application

- where it listens and how many workers: WEB_BIND (default 127.0.0.1:8000; 0.0.0.0:8000 in the
  image) and WEB_WORKERS (default 2);
- the app is loaded once, in the arbiter, before the workers fork (`preload_app`): a start imports
  Django and every view once instead of once per worker, and the workers share those pages. On a
  2-CPU machine two workers importing side by side with the Celery worker and beat were most of
  the wait for the first answer. Nothing opens a connection or starts a thread at import
  (config/wsgi.py closes any database connection before the fork; infrastructure/egress.py makes
  its pooled sessions and deadline watchdog anew in a forked child);
- the access log goes to stdout with every query value redacted (infrastructure/log_redaction.py):
  an OAuth callback's code and state, or a token a client put in a query string, never reach a
  log. The Referer is redacted the same way (a provider's page URL can hold the state), and so
  are the request URIs gunicorn's error log names.
"""

import os

from gunicorn.glogging import Logger

from infrastructure.log_redaction import RedactQueryStrings, redact_query_strings


class RedactingLogger(Logger):
    """gunicorn's logger with query values redacted from every atom of the access log (request
    line, query string, Referer, headers, environ) and from error-log messages."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact_query_strings(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactQueryStrings())


bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
preload_app = True
accesslog = "-"
logger_class = RedactingLogger
