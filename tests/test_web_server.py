"""The web server as `scripts/run` starts it: the Procfile's `web` line, run the way
scripts/supervise.py runs it (`/bin/sh -c "exec <line>"`), on the embedded default (SQLite in a
fresh DATA_DIR, local settings, the keys scripts/run writes to data/local.env), listening on a free
loopback port.

- DEBUG is off unless DJANGO_DEBUG=true: a debug page shows settings and a 500's frame locals
  (credentials among them) to whoever triggers it;
- static files and the admin still work without DEBUG (WhiteNoise serves the collected files);
- no log line holds an OAuth callback's code or state (or any other query value): not gunicorn's
  access log (config/gunicorn.py, which every way of starting the web server uses), not Django's
  runserver log, not Django's request log.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise AssertionError(f"no {name} process in the Procfile")


@pytest.fixture(scope="module")
def site_env(tmp_path_factory) -> dict:
    """What scripts/run exports: local settings, data/local.env's keys, nothing else set."""
    data_dir = tmp_path_factory.mktemp("data")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG") and not k.startswith("PYTEST")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATA_DIR=str(data_dir),
        DJANGO_STATIC_ROOT=str(data_dir / "static"),
        DJANGO_SECRET_KEY="run-command-test-" + uuid.uuid4().hex,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stderr
    return env


class Server:
    def __init__(self, process: subprocess.Popen, base_url: str, log: Path):
        self.process = process
        self.base_url = base_url
        self.log = log

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base_url + path, timeout=10, allow_redirects=False, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, *texts: str, timeout: float = 10.0) -> str:
        """The output once a line holds every one of `texts` (or the output so far)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output()
            if any(all(t in line for t in texts) for line in output.splitlines()):
                return output
            time.sleep(0.1)
        return self.output()


def start(command: list[str], env: dict, port: int, log: Path) -> Server:
    handle = open(log, "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{server.output()}")
        try:
            if server.get("/health/").status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    stop(server)
    raise AssertionError(f"the server did not answer:\n{server.output()}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, 9)
        server.process.wait(timeout=10)


def run_web(env: dict, tmp_path: Path, **extra) -> Server:
    """The Procfile's web line, as scripts/supervise.py runs it."""
    port = free_port()
    env = {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "1", **extra}
    command = ["/bin/sh", "-c", f"exec {procfile_command('web')}"]
    return start(command, env, port, tmp_path / "web.log")


@pytest.fixture
def web(site_env, tmp_path):
    server = run_web(site_env, tmp_path)
    yield server
    stop(server)


# --- DEBUG is off unless asked ---------------------------------------------------------------------


def test_the_run_command_serves_with_debug_off(web):
    missing = web.get("/no-such-page/")
    assert missing.status_code == 404
    # Django's debug 404 page lists the URL patterns; its 500 page shows settings and frame locals.
    assert "URLconf" not in missing.text and "DEBUG = True" not in missing.text


def test_debug_is_on_only_when_asked(site_env, tmp_path):
    server = run_web(site_env, tmp_path, DJANGO_DEBUG="true")
    try:
        assert "URLconf" in server.get("/no-such-page/").text
    finally:
        stop(server)


def test_static_files_and_the_admin_work_with_debug_off(web):
    login = web.get("/admin/login/")
    assert login.status_code == 200
    assert "/static/admin/css/base.css" in login.text
    stylesheet = web.get("/static/admin/css/base.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["Content-Type"].startswith("text/css")
    assert web.get("/static/rest_framework/css/bootstrap.min.css").status_code == 200


# --- codes and states stay out of every log ------------------------------------------------------

CODE = "authcode-" + uuid.uuid4().hex
STATE = "state-" + uuid.uuid4().hex


def callback(server: Server) -> str:
    """A provider's redirect back, with a code and a state, from a page whose URL has the state."""
    path = f"/api/oauth/callback/{uuid.uuid4()}/?code={CODE}&state={STATE}&iss=https%3A%2F%2Fidp"
    server.get(path, headers={"Referer": f"https://idp.example/authorize?state={STATE}&x=1"})
    return server.wait_for_line("/api/oauth/callback/", "HTTP/1.1")  # the request's line


def test_the_access_log_has_no_code_or_state(web):
    output = callback(web)
    lines = [line for line in output.splitlines() if "/api/oauth/callback/" in line]
    assert lines, output  # the request is logged...
    assert CODE not in output and STATE not in output  # ...without the values
    assert any("code=" in line and "state=" in line for line in lines)  # names stay, for debugging


def test_every_way_of_starting_the_web_server_uses_the_gunicorn_config():
    compose = (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "gunicorn --config config/gunicorn.py config.wsgi:application" in procfile_command("web")
    assert "gunicorn --config config/gunicorn.py config.wsgi:application" in compose
    assert 'CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]' in (
        dockerfile
    )
    # No command line overrides the config's access log.
    assert "--access-logfile" not in compose + dockerfile + procfile_command("web")


def test_runserver_logs_no_code_or_state(site_env, tmp_path):
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = start(command, {**site_env, "PYTHONUNBUFFERED": "1"}, port, tmp_path / "dev.log")
    try:
        output = callback(server)
    finally:
        stop(server)
    assert "/api/oauth/callback/" in output
    assert CODE not in output and STATE not in output
