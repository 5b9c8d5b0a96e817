"""Errors that plugins raise and that core raises at plugins."""


class FedikitError(Exception):
    """Base class of every error fedikit defines."""


class StartupError(FedikitError):
    """The instance cannot start: bad configuration, a missing or broken plugin.

    Raise it from ``validate_config`` or ``startup`` with one line that names
    the variable or plugin at fault; ``fedikit serve`` prints it and exits.
    """


class Reject(FedikitError):
    """Refuse a post, an activity or a registration.

    ``reason`` is shown to the person (or remote server) whose input was
    refused, so keep it short and free of internal detail.
    """

    def __init__(self, reason: str, *, status_code: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class BackendError(FedikitError):
    """A storage backend failed in a way the caller may report or retry.

    The API answers 503 with the message as its ``error`` (so keep it free of
    hosts and credentials); a subclass may set another ``status_code``.
    """

    status_code = 503


class NotFound(FedikitError):
    """A key, object or record the caller asked for does not exist."""


class JobTimeout(Exception):
    """A job ran past the time its queue allows it (raised inside the job, where it was when time ran out).

    Queues that bound a job's time raise this (or a subclass of it) in the job.
    A job made of several independent steps may catch it to queue the steps it
    did not finish as a new job, and end; any other job lets it pass, and the
    queue retries the job as after any failure. It is not a
    :class:`FedikitError`, so that code refusing bad input (``except
    FedikitError``) does not take a timeout for a refusal.
    """
