"""scripts/supervise.py, what scripts/run runs: a crashed process is restarted (logged, with
backoff) instead of stopping the platform, and Ctrl-C lets processes finish what they are doing
(a Celery worker's warm shutdown) instead of killing them after 5 s (issue 10, §4 and §7)."""

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CRASHY = f"{sys.executable} -c 'import sys, time; time.sleep(0.2); sys.exit(3)'"
# Takes a second and a half to stop cleanly on SIGTERM, like a worker finishing a refresh.
PATIENT_SCRIPT = """
import signal, sys, time

def stop(*args):
    time.sleep(1.5)
    print("finished cleanly", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""


def patient(tmp_path) -> str:
    script = tmp_path / "patient.py"
    script.write_text(PATIENT_SCRIPT)
    return f"{sys.executable} {script}"


def run(procfile: Path, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "SHUTDOWN_GRACE_SECONDS": "10", **(env_extra or {})}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "supervise.py"), "--procfile", str(procfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in iter(process.stdout.readline, "")],
        daemon=True,
    ).start()
    return process, lines


def wait_for_line(lines, text, timeout=15.0) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}:\n" + "".join(seen))


def test_a_crashed_process_is_restarted_and_the_others_keep_running(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"crashy: {CRASHY}\npatient: {patient(tmp_path)}\n")
    process, lines = run(procfile)
    try:
        seen = wait_for_line(lines, "crashy exited with code 3; restarting in 1 s")
        seen += wait_for_line(lines, "crashy exited with code 3; restarting in 2 s")
        assert process.poll() is None
        assert any("patient" in line and "ready" in line for line in seen)
        assert sum("patient" in line and "started" in line for line in seen) == 1
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_ctrl_c_lets_processes_finish_cleanly(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"worker: {patient(tmp_path)}\n")
    process, lines = run(procfile)
    wait_for_line(lines, "ready")
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    seen = wait_for_line(lines, "stopped", timeout=20)
    assert process.wait(timeout=10) == 0
    assert any("finished cleanly" in line for line in seen)
    assert not any("killing it" in line for line in seen)
    assert time.monotonic() - started >= 1.4  # it waited for the clean stop
