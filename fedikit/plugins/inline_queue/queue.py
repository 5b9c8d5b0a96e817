"""A thread pool with a schedule: jobs wait in a heap ordered by when they are due."""

from __future__ import annotations

import heapq
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from fedikit.plugin_api import Job, retry_delay

log = logging.getLogger("fedikit.jobs.inline")


class InlineQueue:
    """Runs jobs on ``workers`` daemon threads, started on first use in each process.

    A job that raises is retried after :func:`retry_delay` (times
    ``retry_scale``; tests use 0) until ``job.max_attempts`` tries are spent,
    then dropped with an error in the log. Queued jobs do not survive a restart.
    A batch job queued without a delay joins the last one of its name and
    queue while that one still waits and has room.
    """

    durable = False

    def __init__(self, run_job: Callable[[Job], None], *, workers: int = 2, retry_scale: float = 1.0) -> None:
        self._run_job = run_job
        self._workers = max(1, workers)
        self._retry_scale = retry_scale
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._open: dict[tuple[str, str], Job] = {}  # (queue, name) -> the batch job that waits and takes joiners
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.failed: deque[tuple[Job, BaseException]] = deque(maxlen=100)  # the latest jobs that used up their tries

    def enqueue(self, job: Job, *, delay: float = 0.0) -> str:
        job.id = job.id or secrets.token_hex(8)
        with self._cond:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            if job.batch > 1 and delay <= 0:
                waiting = self._open.get((job.queue, job.name))
                if waiting is not None and len(waiting.batched) < job.batch:
                    waiting.batched.append(job.args)
                    return job.id
                job.batched = [job.args]
                self._open[(job.queue, job.name)] = job
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._order), job))
            self._start_threads()
            self._cond.notify()
        return job.id

    def _start_threads(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self._workers:
            thread = threading.Thread(target=self._work, name=f"fedikit-job-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _next(self) -> Job | None:
        with self._cond:
            while not self._closed:
                if self._heap:
                    due = self._heap[0][0] - time.monotonic()
                    if due <= 0:
                        self._running += 1
                        job = heapq.heappop(self._heap)[2]
                        if self._open.get((job.queue, job.name)) is job:
                            del self._open[(job.queue, job.name)]  # runs now: no more joiners
                        return job
                    self._cond.wait(due)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run_job(job)
            except Exception as exc:
                self._failed(job, exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _failed(self, job: Job, exc: BaseException) -> None:
        job.attempt += 1
        if job.attempt >= job.max_attempts:
            log.error("job %s (%s) failed for good after %d tries: %r", job.name, job.id, job.attempt, exc)
            self.failed.append((job, exc))
            return
        delay = retry_delay(job.attempt, jitter=secrets.randbelow(1000) / 1000) * self._retry_scale
        log.warning("job %s (%s) failed (try %d), retrying in %.0fs: %r", job.name, job.id, job.attempt, delay, exc)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), job))
            self._cond.notify()

    def drain(self, timeout: float = 10.0) -> bool:
        """False at once when, with nothing running, the next job is only due after the timeout.

        Waiting could not change the answer then, and a poll's end queued for
        next week would otherwise hold every shutdown for the whole timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (not self._running and self._heap[0][0] > deadline):
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self._heap:
                log.warning("job queue closed with %d jobs still queued; they are dropped", len(self._heap))
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
