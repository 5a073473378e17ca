# The project package is `config`, not `platform`: a top-level package named `platform` hides the
# standard library's `platform` module, and `uuid` (so Django itself) then fails to import.
from config.celery_app import app as celery_app

__all__ = ("celery_app",)
