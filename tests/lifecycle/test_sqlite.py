"""The same race on the embedded default: SQLite ignores SELECT ... FOR UPDATE, so the critical
section relies on IMMEDIATE transactions (the write lock is taken at BEGIN). 50 threads run the
refresh task's code on one auth with rotating refresh tokens: exactly one token request. The
scan's claim statement runs there too."""

import json
import os
import subprocess
import sys

from django.conf import settings

from tests.lifecycle.worker import REPO_ROOT, issue_tokens, refresh_count
from tests.oauth_server.fixture import oauth_server  # noqa: F401


def test_fifty_threads_on_sqlite_make_one_token_request(oauth_server, tmp_path):  # noqa: F811
    oauth_server.reset()
    user = oauth_server.create_user("lifecycle-sqlite")
    client = oauth_server.create_application(grant_type="password")
    tokens = issue_tokens(oauth_server, client, user)
    oauth_server.set_fault("slow:1", count=1)  # the winner is slow: the others pile up
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATA_DIR=str(tmp_path),
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        EGRESS_ALLOW_INSECURE_LOCAL="True",
        PYTHONPATH=str(REPO_ROOT),
    )
    request = {
        "token_url": oauth_server.token_url,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "threads": 50,
    }
    finished = subprocess.run(
        [sys.executable, "-m", "tests.lifecycle.sqlite_race"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert (result["vendor"], result["transaction_mode"]) == ("sqlite", "IMMEDIATE")
    assert result["claims"] == [[result["authentication_id"]], []]
    assert result["errors"] == []
    assert refresh_count(oauth_server) == 1
    assert oauth_server.counters()["refresh_refused"] == 0
    # Every caller ends with a fresh auth (refreshed by the winner, or found fresh).
    assert set(result["outcomes"]) <= {"refreshed", "fresh"}
    assert sum(result["outcomes"].values()) == 50
    assert (result["status"], result["version"]) == ("active", 2)
    state = oauth_server.tokens(
        access_token=result["access_token"], refresh_token=result["refresh_token"]
    )
    assert state["access_token_active"] and state["refresh_token_active"]
