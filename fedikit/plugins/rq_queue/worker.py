"""RQ workers that run fedikit jobs in the app, without forking, and keep their running jobs' leases alive."""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis import Redis
from rq import Queue, SimpleWorker, get_current_job
from rq.exceptions import AbandonedJobError, NoSuchJobError
from rq.executions import Execution
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException, TimerDeathPenalty, UnixSignalDeathPenalty
from rq.worker import WorkerStatus

from fedikit.plugin_api import Job, JobTimeout
from fedikit.plugins.rq_queue.queue import batch_key, wake_key, weighted_order

if TYPE_CHECKING:
    from fedikit.plugins.rq_queue.queue import RQQueue

log = logging.getLogger("fedikit.jobs.rq")

IDLE_WAIT = 1.0  # seconds an idle worker waits for a wake-up before looking again (delayed jobs come due unannounced)

# The take: the first job of the first non-empty queue, in the order given, moved to that queue's intermediate
# list in the same step (RQ's own take moves a job so only when a worker serves one queue), and one wake-up
# call of that queue used up with it. A job is thus always in a list or registry: a worker killed after the
# take leaves it in the intermediate list, where RQ's maintenance finds it and hands it back (retried, or
# failed for good, as a job whose worker died). A batch job taken is closed to joiners in the same step (see
# queue.py). Needs Redis 6.2 or newer (LMOVE). KEYS: queue, intermediate list and wake list, for each queue in
# turn. ARGV: RQ's job key prefix.
_TAKE = """
for i = 1, #KEYS, 3 do
  local id = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
  if id then
    redis.call('LPOP', KEYS[i + 2])
    local name = redis.call('HGET', ARGV[1] .. id, 'description')
    if name then
      local open = KEYS[i] .. ':open:' .. name
      if redis.call('GET', open) == id then redis.call('DEL', open) end
    end
    return {KEYS[i], id}
  end
end
return false
"""

_current = threading.local()  # the app's run_job, for the worker (thread) running a job now


class RQJobTimeout(JobTimeoutException, JobTimeout):
    """RQ's job timeout, raised as fedikit's :class:`JobTimeout` (which jobs made of steps catch)."""


class _SignalTimeout(UnixSignalDeathPenalty):
    """RQ's timeout by ``SIGALRM`` (a worker process), raising :class:`RQJobTimeout`."""

    def __init__(self, timeout: float, exception: type[BaseException] = RQJobTimeout, **kwargs: Any) -> None:
        super().__init__(timeout, RQJobTimeout, **kwargs)


class _TimerTimeout(TimerDeathPenalty):
    """RQ's timeout by a timer (a worker thread, where signals cannot go), raising :class:`RQJobTimeout`."""

    def __init__(self, timeout: float, exception: type[BaseException] = RQJobTimeout, **kwargs: Any) -> None:
        super().__init__(timeout, RQJobTimeout, **kwargs)


def perform(
    name: str, args: dict[str, Any], *, job_id: str, queue: str, max_attempts: int, batch: bool = False
) -> None:
    """What every RQ job calls: runs fedikit job ``name`` through the app of the worker that took it.

    A batch job runs with the arguments of the jobs that joined it, and its
    list of them goes once the run succeeded.
    """
    run_job: Callable[[Job], None] | None = getattr(_current, "run_job", None)
    if run_job is None:
        raise RuntimeError("fedikit jobs need an app: run them with `fedikit worker`, not a bare `rq worker`")
    rq_job = get_current_job()
    retries_left = (rq_job.retries_left or 0) if rq_job is not None else 0
    attempt = max(0, max_attempts - 1 - retries_left)
    job = Job(name=name, args=args, id=job_id, queue=queue, attempt=attempt, max_attempts=max_attempts)
    joined = batch_key(rq_job.id) if batch and rq_job is not None else None
    if joined is not None:
        job.batched = [args, *(json.loads(entry) for entry in rq_job.connection.lrange(joined, 0, -1))]
    run_job(job)
    if joined is not None:
        rq_job.connection.delete(joined)


def rq_log_level() -> str:
    """RQ logs three lines per job at INFO; fedikit's own log says what matters unless asked for DEBUG."""
    return "DEBUG" if logging.getLogger().getEffectiveLevel() <= logging.DEBUG else "WARNING"


def _on_failure(job: Any, exc_type: type[BaseException], exc: BaseException, traceback: Any) -> None:
    """Log a failed try as the inline queue does; tidy up after a dead worker before its job runs again."""
    name = job.description or job.id
    if isinstance(exc, AbandonedJobError):
        _forget_dead_executions(job)
        exc = RuntimeError("its worker died while running it")
    if job.retries_left:
        wait = job.get_retry_interval()
        log.warning(
            "job %s (%s) failed, retrying in %ds (%d tries left): %r", name, job.id, wait, job.retries_left, exc
        )
    else:
        log.error(
            "job %s (%s) failed for good: %r; it stays in the failed registry of queue %s",
            name,
            job.id,
            exc,
            job.origin,
        )


def _forget_dead_executions(job: Any) -> None:
    """Drop a dead worker's execution from the job's list of executions.

    RQ keeps that list's entries 60 s longer than the executions themselves,
    and a job that finishes while its list names a vanished execution fails
    on it (and would be retried for nothing), so the entry goes now.
    """
    registry = job.execution_registry
    connection = job.connection
    for execution_id in connection.zrange(registry.key, 0, -1):
        execution_id = execution_id.decode()
        if not connection.exists(Execution(execution_id, job.id, connection).key):
            connection.zrem(registry.key, execution_id)


class ProcessWorker(SimpleWorker):
    """An RQ worker for ``fedikit worker``: one job at a time, in this process, in the app.

    While a job runs, a small thread renews its lease every third of
    ``abandoned_after`` seconds. If the process dies, the lease runs out and
    the next maintenance pass of any live worker (every ``abandoned_after``
    seconds) finds the job in the started registry and retries it.
    """

    death_penalty_class = _SignalTimeout

    def __init__(
        self,
        queues: Sequence[Queue],
        *,
        run_job: Callable[[Job], None],
        abandoned_after: int,
        weights: Mapping[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.run_job = run_job
        self.abandoned_after = abandoned_after
        self.weights = weights  # RQ queue name -> weight; None: the queues in the order given
        self._draws = random.Random()
        super().__init__(
            list(queues),
            serializer=JSONSerializer,
            maintenance_interval=abandoned_after,
            exception_handlers=[_on_failure],
            **kwargs,
        )

    @classmethod
    def for_queue(
        cls, queue: RQQueue, rq_queues: Sequence[Queue], *, weights: Mapping[str, int] | None = None
    ) -> ProcessWorker:
        return cls(
            rq_queues,
            connection=queue.redis,
            run_job=queue.run_job,
            abandoned_after=queue.abandoned_after,
            weights=weights,
            name=f"{queue.rq_job_id(secrets.token_hex(6))}",
        )

    def run(self, burst: bool = False) -> bool:
        """Work until stopped (SIGTERM: after the current job), or until the queues are empty with ``burst``."""
        return self.work(burst=burst, logging_level=rq_log_level())

    @property
    def dequeue_timeout(self) -> int:
        # How long an idle worker blocks on the queues; maintenance (finding abandoned jobs) runs between waits.
        return self.abandoned_after

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return self.abandoned_after

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """The next job and its queue, taken atomically (:data:`_TAKE`); None once stopped, or when the queues
        are empty in burst mode (``timeout`` None). While idle, waits on the queues' wake lists."""
        self.set_state(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))
        take = self.connection.register_script(_TAKE)
        wakes = [wake_key(q.key) for q in self.queues]
        backoff = 1.0
        while not self._stop_requested:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                taken = self._take(take)
                if taken is not None:
                    return taken
                if timeout is None:
                    return None
                self.connection.blpop(wakes, timeout=min(IDLE_WAIT, timeout))
                backoff = 1.0
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning("worker %s: Redis unreachable (%r); trying again in %.0f s", self.name, exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        return None

    def _take(self, take: Any) -> tuple[Any, Queue] | None:
        if self.weights:  # a new weighted order for each take
            by_name = {q.name: q for q in self.queues}
            ordered = [by_name[name] for name in weighted_order(list(by_name), self.weights, self._draws)]
        else:
            ordered = self.queues
        by_key = {q.key: q for q in ordered}
        keys = [key for q in ordered for key in (q.key, q.intermediate_queue_key, wake_key(q.key))]
        while True:
            found = take(keys=keys, args=[self.job_class.redis_job_namespace_prefix])
            if not found:
                return None
            queue_key, job_id = (part.decode() for part in found)
            queue = by_key[queue_key]
            try:
                job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
                job.redis_server_version = self.get_redis_server_version()
            except NoSuchJobError:  # deleted while it waited: nothing to run
                self.connection.lrem(queue.intermediate_queue_key, 1, job_id)
                continue
            except BaseException:  # a stop request or a lost connection before the job is ours: put it back
                self._give_back(queue, job_id)
                raise
            return job, queue

    def _give_back(self, queue: Queue, job_id: str) -> None:
        try:
            with self.connection.pipeline() as pipe:
                pipe.lrem(queue.intermediate_queue_key, 1, job_id).lpush(queue.key, job_id).execute()
        except redis.exceptions.RedisError as exc:  # left in the intermediate list: RQ's maintenance hands it back
            log.warning("could not put job %s back on %s: %r", job_id, queue.name, exc)

    def prepare_job_execution(self, job: Any, remove_from_intermediate_queue: bool = False) -> None:
        # Every take goes through the intermediate list (RQ assumes so only for one-queue workers).
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)

    def execute_job(self, job: Any, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._renew_lease, args=(job, execution, done), daemon=True)
        beat.start()
        _current.run_job = self.run_job
        try:
            self.perform_job(job, queue, execution)
        finally:
            _current.run_job = None
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _renew_lease(self, job: Any, execution: Any, done: threading.Event) -> None:
        while not done.wait(self.abandoned_after / 3):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                log.warning("could not renew the lease of job %s: %r", job.id, exc)


class ThreadWorker(ProcessWorker):
    """A worker on a daemon thread of a web or test process (``RQ_WORKER_THREADS``).

    Signals belong to the main thread, so this one installs no handlers and
    stops when asked through :meth:`request_stop_soon`; job timeouts use a
    timer instead of ``SIGALRM``; RQ's remote shutdown command is not
    listened to, as it would signal the whole process.
    """

    death_penalty_class = _TimerTimeout

    def run(self, burst: bool = False) -> bool:
        try:
            return super().run(burst=burst)
        except Exception:
            log.exception("RQ worker thread %s stopped", self.name)
            return False

    def request_stop_soon(self) -> None:
        self._stop_requested = True

    @property
    def dequeue_timeout(self) -> int:
        return 1  # so that close() is prompt

    def _install_signal_handlers(self) -> None:
        pass

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass

    def procline(self, message: str) -> None:
        pass


class ThreadScheduler(RQScheduler):
    """RQ's scheduler (due delayed jobs and retries go to their queues) on a thread of the worker's process.

    RQ forks a process for it, which lives on when its worker is killed; a
    thread dies with the worker, and its locks expire so another worker's
    scheduler takes over.
    """

    _thread: threading.Thread | None = None

    @classmethod
    def start_thread(cls, queues: Sequence[Queue], connection: Redis, *, burst: bool = False) -> ThreadScheduler:
        scheduler = cls(list(queues), connection=connection, serializer=JSONSerializer, logging_level=rq_log_level())
        if burst:  # what is due now goes to the queues once, as RQ's burst workers do
            scheduler.acquire_locks()
            if scheduler.acquired_locks:
                scheduler.enqueue_scheduled_jobs()
                scheduler.release_locks()
            return scheduler
        scheduler._thread = threading.Thread(target=scheduler._run, name="fedikit-rq-scheduler", daemon=True)
        scheduler._thread.start()
        return scheduler

    def _run(self) -> None:
        try:
            self.work()
        except Exception:
            log.exception("RQ scheduler thread stopped")

    def _install_signal_handlers(self) -> None:
        pass

    def stop_thread(self) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
