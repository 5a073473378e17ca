"""Development and the embedded default (`scripts/run`)."""

from pathlib import Path

import environ

# DATA_DIR/local.env holds the keys scripts/run generated on first start. Read it before the
# settings are, so that `python manage.py …` (and celery, gunicorn) find them without sourcing the
# file by hand. Variables already in the environment win over the file.
_data_dir = environ.Env().str("DATA_DIR", default=str(Path(__file__).resolve().parents[2] / "data"))
if (Path(_data_dir) / "local.env").is_file():
    environ.Env.read_env(str(Path(_data_dir) / "local.env"))

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

# DEBUG stays off (base.py) unless DJANGO_DEBUG=true: scripts/run serves these settings through
# gunicorn, and a debug page shows settings and a 500's frame locals, credentials among them, to
# whoever triggers it. WhiteNoise serves the static files collectstatic gathered either way.

# scripts/run writes a random key into data/local.env on first start; this default only serves
# one-off management commands run before that.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-use-in-production")
