"""The RQ job queue passes the JobQueue conformance suite, and ``fedikit worker`` runs its jobs in other processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from fedikit.plugin_api import Job
from fedikit.plugin_api.conformance import JobQueueConformance
from fedikit.plugin_api.testing import close_app, make_app

pytestmark = pytest.mark.redis


def _rq_keys(app: Flask) -> list[str]:
    queue = app.extensions["fedikit"].queue
    return sorted(key.decode() for key in queue.redis.scan_iter(f"rq:*{queue.namespace}*", count=1000))


class TestRQQueue(JobQueueConformance):
    @pytest.fixture
    def fedikit_config(self, redis_config: dict[str, str], database: dict[str, str]) -> dict[str, Any]:
        return {"QUEUE_BACKEND": "rq", "RQ_WORKER_THREADS": "2", "JOB_RETRY_SCALE": "0", **redis_config, **database}

    def test_is_durable(self, fedikit_app: Flask) -> None:
        queue = fedikit_app.extensions["fedikit"].queue
        assert type(queue).__name__ == "RQQueue" and queue.durable is True

    def test_drain_does_not_wait_for_a_job_due_after_its_timeout(self, fedikit_app: Flask) -> None:
        from fedikit.core.jobs import enqueue

        enqueue("conformance.record", value=1, delay=3600)
        started = time.monotonic()
        assert fedikit_app.extensions["fedikit"].queue.drain(30) is False
        assert time.monotonic() - started < 1

    def test_succeeded_jobs_leave_no_keys_and_failed_ones_are_kept(self, fedikit_app: Flask, job_plugin: Any) -> None:
        from fedikit.core.jobs import enqueue

        for n in range(20):
            enqueue("conformance.record", value=n)
        failed_id = enqueue("conformance.fail", key="kept", max_attempts=2)
        assert fedikit_app.extensions["fedikit"].queue.drain(10)
        assert len(job_plugin.runs) == 22
        namespace = fedikit_app.config["REDIS_NAMESPACE"]
        about_jobs = ("rq:job:", "rq:results:", "rq:execution", "rq:finished:", "rq:failed:")
        left = [key for key in _rq_keys(fedikit_app) if key.startswith(about_jobs)]
        assert left == [
            f"rq:failed:{namespace}:default",
            f"rq:job:{namespace}-{failed_id}",
            f"rq:results:{namespace}-{failed_id}",
        ]


def test_a_taken_job_is_always_in_a_list_drain_sees(instance: dict[str, Any]) -> None:
    """A worker's take moves the job to its queue's intermediate list in one step: at no moment is it in no list
    (a worker killed right after the take leaves it there, for RQ's maintenance to hand back)."""
    from fedikit.plugins.rq_queue.queue import wake_key
    from fedikit.plugins.rq_queue.worker import ProcessWorker

    queue, log = instance["queue"], instance["log"]
    rq_queues = [queue.rq_queue(name) for name in ("default", "push")]
    queue.enqueue(Job(name="test.record", args={"log": str(log), "label": "taken"}, queue="push"))
    worker = ProcessWorker.for_queue(queue, rq_queues, weights={q.name: 1 for q in rq_queues})
    job, taken_from = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert taken_from.name == queue.rq_name("push")
    assert queue.redis.lrange(taken_from.intermediate_queue_key, 0, -1) == [job.id.encode()]
    assert queue.redis.llen(taken_from.key) == 0
    assert queue.redis.llen(wake_key(taken_from.key)) == 0  # its wake-up call was used up with it
    assert queue.drain(0.3) is False  # held by the worker, not yet started: still counted
    with instance["app"].app_context():
        worker.execute_job(job, taken_from)
    assert lines(log) == ["start taken", "done taken"]
    assert queue.redis.llen(taken_from.intermediate_queue_key) == 0
    assert queue.drain(1)


def test_an_idle_worker_is_woken_by_a_new_job(instance: dict[str, Any]) -> None:
    """Waiting does not take: a job queued while a worker waits is taken at once, through the same take."""
    import threading

    from fedikit.plugins.rq_queue.worker import ProcessWorker

    queue, log = instance["queue"], instance["log"]
    worker = ProcessWorker.for_queue(queue, [queue.rq_queue("default")])
    taken: list[Any] = []
    waiting = threading.Thread(target=lambda: taken.append(worker.dequeue_job_and_maintain_ttl(timeout=30)))
    waiting.start()
    time.sleep(0.3)
    queued_at = time.monotonic()
    queue.enqueue(Job(name="test.record", args={"log": str(log), "label": "late"}))
    waiting.join(timeout=10)
    assert taken and taken[0] is not None and time.monotonic() - queued_at < 0.5
    assert queue.redis.llen(taken[0][1].intermediate_queue_key) == 1


# ---------------------------------------------------------------- `fedikit worker` in its own processes

JOBS_PLUGIN = '''
    """Jobs for the worker tests: each appends a line to the file it is given."""

    import os
    import time
    from pathlib import Path

    from fedikit.plugin_api import JobTimeout, batch_job, hookimpl


    def record(log: str, label: str, seconds: float = 0.0) -> None:
        with open(log, "a") as out:
            out.write(f"start {label} {os.getpid()}\\n")
        time.sleep(seconds)
        with open(log, "a") as out:
            out.write(f"done {label} {os.getpid()}\\n")


    def block_once(log: str, label: str) -> None:
        """Blocks the first time it runs (until its worker is killed), finishes the next time."""
        marker = Path(log + ".blocked")
        first = not marker.exists()
        marker.touch()
        record(log, label, 3600 if first else 0)


    def overrun(log: str) -> None:
        """Runs past its time; says so when its queue tells it (JobTimeout), and ends."""
        try:
            time.sleep(30)
        except JobTimeout:
            with open(log, "a") as out:
                out.write(f"timeout overrun {os.getpid()}\\n")


    @batch_job(10)
    def batch_block_once(items: list) -> None:
        """block_once for a batch: one line for all of its jobs."""
        block_once(items[0]["log"], ",".join(item["label"] for item in items))


    @hookimpl
    def register_jobs() -> dict:
        return {
            "test.record": record,
            "test.block_once": block_once,
            "test.overrun": overrun,
            "test.batch_block_once": batch_block_once,
        }
'''


@pytest.fixture
def instance(tmp_path: Path, redis_config: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A migrated SQLite instance on the rq queue: its process environment and an app that queues jobs."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "rq_test_jobs.py").write_text(textwrap.dedent(JOBS_PLUGIN))
    (tmp_path / "empty.env").write_text("")
    settings = {
        **redis_config,
        "QUEUE_BACKEND": "rq",
        "FEEDS_BACKEND": "sql",
        "STREAMING_BACKEND": "memory",
        "JOB_RETRY_SCALE": "0",
        "RQ_ABANDONED_AFTER": "2",
        "SECRET_KEY_BASE": "rq-worker-test",
    }
    env = {
        **os.environ,
        **settings,
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(tmp_path / "empty.env"),
        "FEDIKIT_PLUGINS_DIR": str(plugins),
    }
    app = make_app({**settings, "FEDIKIT_PLUGINS_DIR": str(plugins)}, data_dir=env["FEDIKIT_DATA_DIR"])
    try:
        yield {"env": env, "app": app, "queue": app.extensions["fedikit"].queue, "log": tmp_path / "jobs.log"}
    finally:
        close_app(app)


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fedikit", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so that nothing it starts outlives the test
    )


def wait_for(check: Callable[[], bool], timeout: float, process: subprocess.Popen | None = None) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            output = process.communicate(timeout=10)[0] if process and process.poll() is not None else ""
            raise AssertionError(f"not done after {timeout} s {output}")
        time.sleep(0.05)
    return time.monotonic() - started


def lines(log: Path) -> list[str]:
    return [" ".join(line.split()[:2]) for line in log.read_text().splitlines()] if log.exists() else []


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    return process.communicate(timeout=30)[0]


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_runs_again(instance: dict[str, Any]) -> None:
    log = instance["log"]
    instance["queue"].enqueue(Job(name="test.block_once", args={"log": str(log), "label": "j"}))
    first = start_worker(instance["env"])
    try:
        wait_for(lambda: "start j" in lines(log), 60, first)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and anything it started, mid-job
        first.wait(timeout=10)
    finally:
        stop(first)
    killed_at = time.monotonic()
    second = start_worker(instance["env"])
    try:
        wait_for(lambda: "done j" in lines(log), 60, second)
        # lease (RQ_ABANDONED_AFTER=2 s) ran out + the next maintenance pass (<= 2 s) + worker start (~1-2 s)
        assert time.monotonic() - killed_at < 15
        assert lines(log) == ["start j", "start j", "done j"]
        assert instance["queue"].drain(5)
    finally:
        output = stop(second)
    assert "fedikit worker: serving default" in output


@pytest.mark.slow
def test_a_batch_whose_worker_is_killed_runs_again_whole_and_leaves_no_keys(instance: dict[str, Any]) -> None:
    log, queue = instance["log"], instance["queue"]
    for label in ("a", "b", "c"):  # no worker yet: b and c join a
        queue.enqueue(Job(name="test.batch_block_once", args={"log": str(log), "label": label}, batch=10))
    assert queue.redis.llen(queue.rq_queue("default").key) == 1
    first = start_worker(instance["env"])
    try:
        wait_for(lambda: "start a,b,c" in lines(log), 60, first)
        queue.enqueue(Job(name="test.batch_block_once", args={"log": str(log), "label": "d"}, batch=10))
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    second = start_worker(instance["env"])
    try:
        wait_for(lambda: lines(log).count("done a,b,c") == 1 and "done d" in lines(log), 60, second)
        assert queue.drain(5)
    finally:
        stop(second)
    assert sorted(lines(log)) == ["done a,b,c", "done d", "start a,b,c", "start a,b,c", "start d"]  # d: taken alone
    assert [key for key in _rq_keys(instance["app"]) if ":batch" in key or ":open:" in key] == []


@pytest.mark.slow
def test_a_job_past_its_time_is_told_so_with_the_plugin_api_timeout(
    instance: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedikit.plugins.rq_queue import queue as rq_queue_module

    monkeypatch.setattr(rq_queue_module, "JOB_TIMEOUT", 1)  # kept with the job in Redis: the worker applies it
    log, queue = instance["log"], instance["queue"]
    queue.enqueue(Job(name="test.overrun", args={"log": str(log)}))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "fedikit", "worker", "--burst"],
        env=instance["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(log) == ["timeout overrun"]
    assert time.monotonic() - started < 25  # not the job's full 30 s
    assert queue.drain(1)  # it ended once told: nothing failed, nothing to retry


@pytest.mark.slow
def test_worker_serves_its_queues_in_the_order_given_and_stops_on_sigterm(instance: dict[str, Any]) -> None:
    log, queue = instance["log"], instance["queue"]
    for name in ("pull", "mailers", "ingress", "push", "default"):
        queue.enqueue(Job(name="test.record", args={"log": str(log), "label": name}, queue=name))
    only_default = subprocess.run(
        [sys.executable, "-m", "fedikit", "worker", "--burst", "--queues", "default"],
        env=instance["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert only_default.returncode == 0, only_default.stdout + only_default.stderr
    assert "serving default (" in only_default.stdout and "push" not in only_default.stdout
    assert lines(log) == ["start default", "done default"]
    assert queue.drain(0.5) is False  # the other queues still hold their jobs

    queue.enqueue(Job(name="test.record", args={"log": str(log), "label": "slow", "seconds": 2}, queue="pull"))
    worker = start_worker(instance["env"], "--queues", "default,push,ingress,mailers,pull")  # strict priority
    try:
        wait_for(lambda: "start slow" in lines(log), 60, worker)
        worker.send_signal(signal.SIGTERM)  # while the slow job runs: it finishes, then the worker stops
        assert worker.wait(timeout=30) == 0
    finally:
        output = stop(worker)
    assert lines(log)[2:] == [
        *("start push", "done push", "start ingress", "done ingress", "start mailers", "done mailers"),
        *("start pull", "done pull", "start slow", "done slow"),
    ]
    assert "serving default (" in output and "pull (" in output and ", in this order, on redis" in output


@pytest.mark.slow
def test_weighted_queues_let_a_light_queue_through_a_busy_one(instance: dict[str, Any]) -> None:
    log, queue = instance["log"], instance["queue"]
    for n in range(5):
        queue.enqueue(Job(name="test.record", args={"log": str(log), "label": f"default{n}"}, queue="default"))
    queue.enqueue(Job(name="test.record", args={"log": str(log), "label": "pull"}, queue="pull"))
    # Listed first, default would be served to the end under strict priority; weighted, pull comes first
    # (100,000 to 1 on each take).
    done = subprocess.run(
        [sys.executable, "-m", "fedikit", "worker", "--burst", "--queues", "default:1,pull:100000"],
        env=instance["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "weight 100000), weighted, on redis" in done.stdout
    assert [line for line in lines(log) if line.startswith("done")] == [
        "done pull",
        *(f"done default{n}" for n in range(5)),
    ]


def test_weighted_order_draws_each_queue_first_by_its_weight() -> None:
    import random

    from fedikit.plugins.rq_queue.queue import WEIGHTS, weighted_order

    rng = random.Random(7)
    names = list(WEIGHTS)
    firsts = [weighted_order(names, WEIGHTS, rng)[0] for _ in range(21_000)]
    total = sum(WEIGHTS.values())
    for name, weight in WEIGHTS.items():  # Mastodon's 8:6:4:2:1, within a few percent
        assert abs(firsts.count(name) / len(firsts) - weight / total) < 0.015, name
    assert sorted(weighted_order(names, WEIGHTS, rng)) == sorted(names)  # every queue, once


@pytest.mark.parametrize(
    ("queues", "error"),
    [
        ("default:8,pull", "give a weight to every queue"),
        ("default:x", "not a whole number"),
        ("default:0", "at least 1"),
        ("default,default", "names default twice"),
        (" , ", "names no queue"),
    ],
)
def test_worker_refuses_bad_queue_lists(instance: dict[str, Any], queues: str, error: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fedikit", "worker", "--burst", "--queues", queues],
        env=instance["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and error in result.stderr, result.stderr


@pytest.mark.slow
def test_worker_refuses_a_queue_that_is_not_rq(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "QUEUE_BACKEND"))},
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(tmp_path / "empty.env"),
        "SECRET_KEY_BASE": "rq-worker-test",
    }
    result = subprocess.run(
        [sys.executable, "-m", "fedikit", "worker", "--burst"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Error: the job queue is InlineQueue" in result.stderr and "REDIS_URL" in result.stderr
