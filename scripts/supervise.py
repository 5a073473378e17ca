"""Run the processes of the Procfile in the foreground and keep them running (scripts/run).

- Each process runs in a session of its own, so the terminal's Ctrl-C reaches this supervisor
  only; it then stops them in order with SIGTERM to each process itself (a Celery worker makes a
  warm shutdown: the refreshes in flight finish), waits up to SHUTDOWN_GRACE_SECONDS (default
  150: longer than the longest token call a service may allow), and only then kills what is left.
- A process that exits on its own is restarted, with a backoff that doubles from 1 s to 60 s
  (reset once it has run for a minute), and the restart is logged. One crashed worker no longer
  stops the web server and beat with it.
- Output lines are prefixed with the time and the process name.

    python scripts/supervise.py [--procfile Procfile]
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

MAX_BACKOFF = 60.0
STABLE_AFTER = 60.0
STOP_ORDER = ("beat", "web", "worker")  # stop scheduling first, workers last


def log(name: str, line: str) -> None:
    sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<8} | {line}\n")
    sys.stdout.flush()


@dataclass
class Process:
    name: str
    command: str
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        # The commands are the repository's own Procfile: the shell expands ${VAR:-default}.
        self.popen = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {self.command}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        threading.Thread(target=self._pump, args=(self.popen,), daemon=True).start()
        log(self.name, f"started (pid {self.popen.pid})")

    def _pump(self, popen: subprocess.Popen) -> None:
        for line in popen.stdout:
            log(self.name, line.rstrip("\n"))

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            try:
                self.popen.send_signal(signum)
            except ProcessLookupError:
                pass

    def kill_group(self) -> None:
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def read_procfile(path: str) -> list[Process]:
    processes = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, command = line.partition(":")
            processes.append(Process(name=name.strip(), command=command.strip()))
    return processes


def supervise(processes: list[Process], grace: float) -> int:
    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            log("run", f"{signal.Signals(signum).name}: stopping (up to {grace:g} s)")
            stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()

    while not stopping.is_set():
        now = time.monotonic()
        for process in processes:
            if process.restart_at is not None:
                if now >= process.restart_at:
                    process.restarts += 1
                    process.start()
                continue
            code = process.popen.poll()
            if code is None:
                continue
            if now - process.started_at >= STABLE_AFTER:
                process.backoff = 1.0
            log(
                "run",
                f"{process.name} exited with code {code}; restarting in {process.backoff:g} s",
            )
            process.restart_at = now + process.backoff
            process.backoff = min(process.backoff * 2, MAX_BACKOFF)
        stopping.wait(0.2)

    ordered = sorted(
        processes, key=lambda p: STOP_ORDER.index(p.name) if p.name in STOP_ORDER else 0
    )
    for process in ordered:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(p.running() for p in processes):
        time.sleep(0.1)
    for process in processes:
        if process.running():
            log("run", f"{process.name} did not stop within {grace:g} s; killing it")
        process.kill_group()  # whatever the process left behind, too
    for process in processes:
        if process.popen is not None:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    log("run", "stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", default="Procfile")
    arguments = parser.parse_args()
    grace = float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "150"))
    return supervise(read_procfile(arguments.procfile), grace)


if __name__ == "__main__":
    sys.exit(main())
