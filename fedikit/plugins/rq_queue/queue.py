"""The RQ job queue: jobs wait in Redis lists, one per fedikit queue name, until a worker runs them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
from rq import Queue, Retry
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from fedikit.plugin_api import Job, retry_delay

log = logging.getLogger("fedikit.jobs.rq")

QUEUES = ("default", "push", "ingress", "mailers", "pull")
"""Every queue fedikit and its bundled plugins use, highest priority first (Mastodon's order)."""

WEIGHTS = {"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 1}
"""How often a worker serving several queues looks at each first (Mastodon's Sidekiq weights)."""

WAKE_TOKENS = 1000  # at most this many wake-up calls wait per queue (each wakes one idle worker)


def wake_key(queue_key: str) -> str:
    """The list an idle worker waits on for ``queue_key``: one token per job queued there (see worker.py)."""
    return f"{queue_key}:wake"


def weighted_order(names: Sequence[str], weights: Mapping[str, int], rng: random.Random) -> list[str]:
    """``names`` in a random order where each comes first with a chance proportional to its weight.

    A weighted draw without replacement: each name gets the key ``u ** (1 / weight)``
    for a uniform ``u``, the largest first. A busy queue then cannot starve
    another, and the heavier ones are still served first most of the time.
    """
    keyed = [(rng.random() ** (1.0 / weights[name]), name) for name in names]
    return [name for _, name in sorted(keyed, reverse=True)]


JOB_TIMEOUT = 600
"""Seconds a job may run before its worker stops it: a delivery batch with slow peers stays well under it."""

FAILURE_TTL = 7 * 24 * 3600
"""Seconds a job that used up its tries stays in RQ's failed registry, for an admin to look at or requeue."""

BATCH_TTL = FAILURE_TTL + 4 * 24 * 3600
"""Seconds the arguments of the jobs that joined one are kept: its tries (2-3 days), then its failed entry."""

PERFORM = "fedikit.plugins.rq_queue.worker.perform"

# Batch jobs (``job.batch`` > 1): the RQ job queued last for a (queue, name) is "open" while it waits: its id is
# in the queue's open key for that name (see :func:`open_key`), and jobs of that name queued meanwhile add their
# arguments to its batch list (:func:`batch_key`) instead of becoming RQ jobs. The take (worker.py) closes the
# batch in the same step as it moves the job from its queue, so nothing joins a job once taken; the list is read
# when the job runs and deleted once it succeeded (a retry reads it again). KEYS: the open key, the batch list
# prefix. ARGV: the arguments (JSON), the batch size, the list's lifetime.
_JOIN = """
local open = redis.call('GET', KEYS[1])
if not open then return false end
local key = KEYS[2] .. open .. ':batch'
if redis.call('LLEN', key) + 1 >= tonumber(ARGV[2]) then return false end
redis.call('RPUSH', key, ARGV[1])
redis.call('EXPIRE', key, ARGV[3])
return open
"""


def open_key(queue_key: str, name: str) -> str:
    """Where the id of the batch job of ``name`` that still waits on ``queue_key`` is kept."""
    return f"{queue_key}:open:{name}"


def batch_key(rq_job_id: str) -> str:
    """The arguments of the jobs that joined RQ job ``rq_job_id`` (JSON, one per entry, in order)."""
    return f"{RQJob.redis_job_namespace_prefix}{rq_job_id}:batch"


class RQQueue:
    """Puts jobs on RQ queues named ``<namespace>:<job.queue>``; workers anywhere run them.

    ``threads`` > 0 also runs that many workers as daemon threads in this
    process, started on the first enqueue (tests and single-process setups).
    """

    durable = True

    def __init__(
        self,
        run_job: Callable[[Job], None],
        *,
        url: str,
        namespace: str = "fedikit",
        threads: int = 0,
        retry_scale: float = 1.0,
        abandoned_after: int = 30,
    ) -> None:
        self.run_job = run_job
        self.namespace = namespace
        self.retry_scale = retry_scale
        self.abandoned_after = max(1, abandoned_after)
        self.redis = redis.Redis.from_url(url)
        # RQ's own keys begin with "rq:", for every user of the server; carrying the namespace in queue
        # names and job ids keeps this instance's keys apart (and findable) all the same.
        self._id_prefix = re.sub(r"[^A-Za-z0-9_-]", "_", namespace)
        self._queues: dict[str, Queue] = {}
        self._threads_wanted = max(0, threads)
        self._threads: list[threading.Thread] = []
        self._workers: list[Any] = []
        self._scheduler: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._warned: set[str] = set()
        self._join_script = self.redis.register_script(_JOIN)

    # ------------------------------------------------------------ queues

    def rq_name(self, queue: str) -> str:
        return f"{self.namespace}:{queue}"

    def rq_queue(self, queue: str) -> Queue:
        found = self._queues.get(queue)
        if found is None:
            found = Queue(self.rq_name(queue), connection=self.redis, serializer=JSONSerializer)
            self._queues[queue] = found
        return found

    def rq_job_id(self, job_id: str) -> str:
        return f"{self._id_prefix}-{job_id}"

    def enqueue(self, job: Job, *, delay: float = 0.0) -> str:
        job.id = job.id or secrets.token_hex(8)
        if self._closed:
            raise RuntimeError("the job queue is closed")
        if job.queue not in QUEUES and job.queue not in self._warned:
            self._warned.add(job.queue)
            log.warning(
                "job queue %r is not among %s: only workers started with --queues %s run it",
                job.queue,
                ",".join(QUEUES),
                job.queue,
            )
        queue = self.rq_queue(job.queue)
        batch = job.batch > 1 and delay <= 0
        if batch and self._join(queue, job):
            return job.id
        options: dict[str, Any] = {
            "args": (job.name, job.args),
            "kwargs": {"job_id": job.id, "queue": job.queue, "max_attempts": job.max_attempts, "batch": batch},
            "job_id": self.rq_job_id(job.id),
            "description": job.name,
            "result_ttl": 0,  # fire and forget: a result nobody reads would cost a key per job
            "failure_ttl": FAILURE_TTL,
            "job_timeout": JOB_TIMEOUT,
            "retry": self._retry(job),
        }
        if delay > 0:
            # RQ's schedule counts whole seconds and runs a job once its second has begun; rounding the
            # due time up keeps a job from running before the delay asked for.
            due = dt.datetime.fromtimestamp(math.ceil(time.time() + delay), dt.UTC)
            queue.enqueue_at(due, PERFORM, **options)
        else:
            # The job and a wake-up call for an idle worker go to Redis together, in one round trip.
            wake = wake_key(queue.key)
            # A batch job is open to joiners from the moment it is queued (one transaction).
            with self.redis.pipeline() as pipe:
                queue.enqueue(PERFORM, **options, pipeline=pipe)
                if batch:
                    pipe.set(open_key(queue.key, job.name), options["job_id"], ex=JOB_TIMEOUT)
                pipe.lpush(wake, 1).ltrim(wake, 0, WAKE_TOKENS - 1).execute()
        if self._threads_wanted:
            self._start_threads()
        return job.id

    def _join(self, queue: Queue, job: Job) -> bool:
        """Add ``job``'s arguments to the open batch of its name on ``queue``; False when none has room."""
        joined = self._join_script(
            keys=[open_key(queue.key, job.name), RQJob.redis_job_namespace_prefix],
            args=[json.dumps(job.args), job.batch, BATCH_TTL],
        )
        return bool(joined)

    def _retry(self, job: Job) -> Retry | None:
        """The inline queue's schedule, drawn now: RQ keeps a job's waits as a list of whole seconds."""
        retries = job.max_attempts - 1 - job.attempt
        if retries < 1:
            return None
        waits = [
            math.ceil(retry_delay(attempt, jitter=secrets.randbelow(1000) / 1000) * self.retry_scale)
            for attempt in range(job.attempt + 1, job.attempt + 1 + retries)
        ]
        return Retry(max=retries, interval=waits)

    # ------------------------------------------------------------ in-process workers

    def _start_threads(self) -> None:
        with self._lock:
            if self._closed or self._threads:
                return
            from fedikit.plugins.rq_queue.worker import ThreadScheduler, ThreadWorker

            queues = [self.rq_queue(name) for name in QUEUES]
            self._scheduler = ThreadScheduler.start_thread(queues, self.redis)
            weights = {self.rq_name(name): WEIGHTS[name] for name in QUEUES}
            for n in range(self._threads_wanted):
                worker = ThreadWorker.for_queue(self, queues, weights=weights)
                thread = threading.Thread(target=worker.run, name=f"fedikit-rq-{n}", daemon=True)
                self._workers.append(worker)
                self._threads.append(thread)
                thread.start()

    def work(self, queues: Sequence[str], *, weights: Mapping[str, int] | None = None, burst: bool = False) -> bool:
        """Run a worker on ``queues`` in this thread until stopped; for ``fedikit worker``.

        With ``weights`` (name -> weight, for every queue) each take looks at
        the queues in a new :func:`weighted_order`; without, in the order given
        (strict priority). This process then runs jobs only here: jobs that jobs
        queue go to Redis, not to in-process threads.
        """
        from fedikit.plugins.rq_queue.worker import ProcessWorker, ThreadScheduler

        self._threads_wanted = 0
        rq_queues = [self.rq_queue(name) for name in queues]
        scheduler = ThreadScheduler.start_thread(rq_queues, self.redis, burst=burst)
        by_rq_name = {self.rq_name(name): weight for name, weight in weights.items()} if weights else None
        try:
            return ProcessWorker.for_queue(self, rq_queues, weights=by_rq_name).run(burst=burst)
        finally:
            scheduler.stop_thread()

    # ------------------------------------------------------------ waiting

    def _names(self) -> list[str]:
        """This namespace's RQ queue names: the ones any process registered, and the ones used here."""
        prefix = Queue.redis_queue_namespace_prefix + self.namespace + ":"
        keys = (key.decode() for key in self.redis.smembers(Queue.redis_queues_keys))
        registered = {key[len(Queue.redis_queue_namespace_prefix) :] for key in keys if key.startswith(prefix)}
        return sorted(registered | {self.rq_name(name) for name in (*QUEUES, *self._queues)})

    def pending(self, deadline: float) -> tuple[int, int, int]:
        """``(waiting or running, scheduled before deadline, scheduled later)``, read in one transaction."""
        names = self._names()
        with self.redis.pipeline(transaction=True) as pipe:
            for name in names:
                queue = Queue(name, connection=self.redis, serializer=JSONSerializer)
                pipe.llen(queue.key)
                pipe.llen(queue.intermediate_queue_key)
                pipe.zcard(queue.started_job_registry.key)
                pipe.zcount(queue.scheduled_job_registry.key, "-inf", math.floor(deadline))
                pipe.zcard(queue.scheduled_job_registry.key)
            counts = pipe.execute()
        busy = soon = total = 0
        for n in range(len(names)):
            queued, moving, started, due, scheduled = counts[5 * n : 5 * n + 5]
            busy += queued + moving + started
            soon += due
            total += scheduled
        return busy, soon, total - soon

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until this namespace's queues are empty and nothing runs, whoever runs the jobs.

        False at once when nothing runs and what is left is due after the
        timeout. A job is always in a list or registry counted here, from its
        queue to the intermediate list (the take moves it there atomically) to
        the started registry; an empty look is checked twice all the same.
        """
        deadline = time.time() + timeout
        calm = 0
        while True:
            busy, soon, later = self.pending(deadline)
            if busy or soon:
                calm = 0
            elif later:
                return False
            else:
                calm += 1
                if calm == 2:
                    return True
            if time.time() >= deadline:
                return False
            time.sleep(0.02 if calm else 0.01)

    def close(self) -> None:
        """Stop this process's worker threads after their current job; queued jobs stay in Redis."""
        with self._lock:
            self._closed = True
            workers, threads, scheduler = self._workers, self._threads, self._scheduler
            self._workers, self._threads, self._scheduler = [], [], None
        for worker in workers:
            worker.request_stop_soon()
        for thread in threads:
            thread.join(timeout=30)
        if scheduler is not None:
            scheduler.stop_thread()
        self.redis.close()
