"""The embedded default's broker (issue 10, §7): kombu's filesystem transport let a reader take a
message file before its writer had written it, and the worker died on the empty file. Ours writes
each message under a name no reader takes and renames it into place."""

import os
import subprocess
import sys
import threading
import time
from multiprocessing import get_context
from pathlib import Path

import pytest
from kombu import Connection
from kombu.transport import filesystem

from infrastructure import filesystem_broker

ROOT = Path(__file__).resolve().parents[2]


def options(folder: Path) -> dict:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }


@pytest.mark.parametrize(
    ("transport", "visible_while_writing"),
    [
        (filesystem.Transport, True),  # kombu's: the reader's race
        (filesystem_broker.Transport, False),  # ours: nothing to take until it is complete
    ],
)
def test_a_message_is_visible_to_readers_only_once_complete(
    tmp_path, monkeypatch, transport, visible_while_writing
):
    for folder in ("queue", "processed", "control"):
        (tmp_path / folder).mkdir(exist_ok=True)
    writing, go_on = threading.Event(), threading.Event()
    module = filesystem_broker if transport is filesystem_broker.Transport else filesystem
    real_dumps = module.dumps

    def slow_dumps(payload):
        # Stands in for a writer the scheduler pauses mid-message.
        writing.set()
        go_on.wait(timeout=5)
        return real_dumps(payload)

    monkeypatch.setattr(module, "dumps", slow_dumps)
    with Connection("filesystem://", transport=transport, transport_options=options(tmp_path)) as c:
        channel = c.default_channel
        writer = threading.Thread(target=channel._put, args=("jobs", {"body": "x" * 100}))
        writer.start()
        writing.wait(timeout=5)
        takeable = [n for n in os.listdir(tmp_path / "queue") if n.endswith(".jobs.msg")]
        go_on.set()
        writer.join(timeout=5)
    assert bool(takeable) is visible_while_writing


def _produce(soak_dir: str, producer: int, fan_outs: int, per_fan_out: int, leaves: int):
    os.environ["SOAK_DIR"] = soak_dir
    from tests.infrastructure.soak_app import fan_out, leaf

    for index in range(fan_outs):
        fan_out.delay(f"p{producer}-f{index}", per_fan_out)
    for index in range(leaves):
        leaf.delay(f"p{producer}-l{index}", fail_first=index % 5 == 0)


def test_soak_producers_fan_outs_and_retries_lose_nothing(tmp_path):
    producers, fan_outs, per_fan_out, leaves = 4, 4, 40, 60
    expected = producers * (fan_outs * per_fan_out + leaves)
    env = {**os.environ, "SOAK_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.infrastructure.soak_app", "worker",
         "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        context = get_context("spawn")
        with context.Pool(producers) as pool:  # several processes writing at once
            pool.starmap(
                _produce,
                [(str(tmp_path), p, fan_outs, per_fan_out, leaves) for p in range(producers)],
            )
        done = tmp_path / "done"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if done.exists() and len(os.listdir(done)) >= expected:
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.2)
        assert len(os.listdir(done)) == expected  # nothing lost
        assert worker.poll() is None  # and the worker is alive
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    output = (tmp_path / "worker.log").read_text()
    assert "Unrecoverable error" not in output and "JSONDecodeError" not in output
