"""Startup benchmark, one command:

    .venv/bin/python bench/startup.py             # 3 warm starts each way
    .venv/bin/python bench/startup.py --runs 5

Times `scripts/run` (the embedded default: SQLite and the filesystem broker in a DATA_DIR of its
own, static files in a STATIC_ROOT of its own) from the command to the first 200 of `/health/`,
against a bare `django-admin startproject` with the same Procfile shape (gunicorn with 2 workers,
a Celery worker with 4 processes, Celery beat; the same filesystem broker, a `/health/` view)
started by the same supervisor (scripts/supervise.py), alternating one for one in the same run.

The first start of each is a cold start (the database created and migrated, static files
collected) and is reported apart; the runs after it are warm (venv installed, database migrated,
static files collected: what a restart costs). Once the worker is ready and beat has started, the
resident memory of each Procfile process is read from /proc: RSS summed over the process and its
children, and PSS (shared pages split between the processes that share them). Prints a Markdown
report.
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HEALTH_TIMEOUT = 120.0
READY_TIMEOUT = 60.0
STARTED = re.compile(r"^\S+ (\w+)\s+\| started \(pid (\d+)\)")
# The Procfile process is "ready" when it says so: the worker, beat; gunicorn answers /health/.
READY_LINES = {"worker": "ready.", "beat": "beat: Starting"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bare_project(root: Path, port: int) -> tuple[list[str], Path, dict]:
    """A `django-admin startproject` with a Celery app, a /health/ view and the platform's
    Procfile shape; returns the command that starts it, where, and its environment."""
    project = root / "bare"
    if not project.exists():
        project.mkdir(parents=True)
        subprocess.run(
            [sys.executable, "-m", "django", "startproject", "bare", str(project)], check=True
        )
        broker = root / "broker"
        for folder in ("queue", "processed"):
            (broker / folder).mkdir(parents=True, exist_ok=True)
        (project / "bare" / "celery.py").write_text(
            textwrap.dedent(
                f"""\
                import os

                from celery import Celery

                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare.settings")
                app = Celery("bare", broker="filesystem://")
                app.conf.broker_transport_options = {{
                    "data_folder_in": "{broker}/queue",
                    "data_folder_out": "{broker}/queue",
                    "processed_folder": "{broker}/processed",
                }}
                app.conf.beat_schedule_filename = "{root}/celerybeat-schedule"
                app.autodiscover_tasks()
                """
            )
        )
        urls = project / "bare" / "urls.py"
        urls.write_text(
            urls.read_text()
            + textwrap.dedent(
                """
                from django.http import JsonResponse


                def health(request):
                    return JsonResponse({"status": "ok"})


                urlpatterns.append(path("health/", health))
                """
            )
        )
    (project / "Procfile").write_text(
        f"web: gunicorn --bind 127.0.0.1:{port} --workers 2 bare.wsgi:application\n"
        "worker: celery -A bare worker --queues refresh,celery --loglevel INFO --concurrency 4\n"
        "beat: celery -A bare beat --loglevel INFO\n"
    )
    return [sys.executable, str(REPO_ROOT / "scripts" / "supervise.py")], project, clean_env()


def platform_command(root: Path, port: int) -> tuple[list[str], Path, dict]:
    env = clean_env() | {
        "DATA_DIR": str(root / "data"),
        "DJANGO_STATIC_ROOT": str(root / "static"),
        "WEB_BIND": f"127.0.0.1:{port}",
    }
    return ["bash", str(REPO_ROOT / "scripts" / "run")], REPO_ROOT, env


def clean_env() -> dict:
    """The environment of a person starting it: no database, broker or settings module set."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")
    }
    venv_bin = str(REPO_ROOT / ".venv" / "bin")
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["SHUTDOWN_GRACE_SECONDS"] = "20"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far."""
    ticks = 0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB of a process and its children."""
    rss = pss = 0
    for each in descendants(pid):
        try:
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def start_once(
    command: list[str], cwd: Path, env: dict, port: int, *, measure_memory: bool
) -> dict:
    lines: list[str] = []
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own scripts
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    result = {}
    try:
        url = f"http://127.0.0.1:{port}/health/"
        while time.perf_counter() - started < HEALTH_TIMEOUT:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited:\n{''.join(lines)}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise SystemExit(
                f"/health/ did not answer within {HEALTH_TIMEOUT:g} s:\n{''.join(lines)}"
            )
        result["health_s"] = time.perf_counter() - started
        if measure_memory:
            deadline = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < deadline:
                text = "".join(lines)
                if all(marker in text for marker in READY_LINES.values()):
                    break
                time.sleep(0.1)
            time.sleep(1.0)  # let the pool's children finish importing
            pids = {}
            for line in list(lines):
                match = STARTED.match(line)
                if match:
                    pids[match.group(1)] = int(match.group(2))
            result["memory"] = {name: memory_kib(pid) for name, pid in pids.items()}
            result["cpu"] = {name: cpu_seconds(pid) for name, pid in pids.items()}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm starts of each")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    subjects = {"platform": platform_command, "bare": bare_project}
    cold, warm, memory, cpu = {}, {name: [] for name in subjects}, {}, {}
    for run in range(args.runs + 1):
        for name, make in subjects.items():
            port = free_port()
            command, cwd, env = make(root / name, port)
            outcome = start_once(command, cwd, env, port, measure_memory=run == args.runs)
            if run == 0:
                cold[name] = outcome["health_s"]
            else:
                warm[name].append(outcome["health_s"])
            if "memory" in outcome:
                memory[name] = outcome["memory"]
                cpu[name] = outcome["cpu"]

    platform, bare = statistics.median(warm["platform"]), statistics.median(warm["bare"])
    load = os.getloadavg()[0]
    print(f"Run command to `/health/` answering, {args.runs} warm starts each (load {load:.1f})\n")
    print("| start | `scripts/run` | bare `startproject`, same Procfile | ratio |")
    print("| --- | --- | --- | --- |")
    print(
        f"| warm (median of {args.runs}) | {platform:.2f} s | {bare:.2f} s | "
        f"**{platform / bare:.2f}x** |"
    )
    print(
        f"| cold (first start) | {cold['platform']:.2f} s | {cold['bare']:.2f} s | "
        f"{cold['platform'] / cold['bare']:.2f}x |"
    )
    print(
        f"\nwarm starts: platform {', '.join(f'{s:.2f}' for s in warm['platform'])} s; "
        f"bare {', '.join(f'{s:.2f}' for s in warm['bare'])} s\n"
    )
    print(
        "| process (last warm start) | platform RSS / PSS | bare RSS / PSS | "
        "platform CPU to start | bare CPU to start |"
    )
    print("| --- | --- | --- | --- | --- |")
    for process in ("web", "worker", "beat"):
        cells = []
        for name in subjects:
            rss, pss = memory.get(name, {}).get(process, (0, 0))
            cells.append(f"{rss / 1024:.0f} / {pss / 1024:.0f} MiB")
        cells += [f"{cpu.get(name, {}).get(process, 0):.2f} s" for name in subjects]
        print(f"| {process} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
