"""Publish/subscribe among the processes of one machine, over Unix datagram sockets: no service needed.

For several web processes on embedded defaults (``WEB_CONCURRENCY`` > 1
without Redis). Every process that has subscribers binds one socket,
``<pid>.sock``, in a folder of the data directory, and writes the channels
they listen to beside it (``<pid>.channels``, replaced whole on each change).
Publishing delivers to this process's own subscribers in memory and sends
the message as one datagram to every other socket in the folder; a socket
whose process has ended is removed by the first publisher that finds it so.
A process that only publishes (a CLI command revoking a token) binds nothing.

Messages are small (``{"event":"update","id":…}``): one over 16 KB is
refused. Each publisher keeps a socket connected to each other process, so
a send waits for room in that process's queue (the kernel's
``net.unix.max_dgram_qlen`` datagrams) while it reads; one that has not made
room for a second loses the message, with a warning: streaming is best effort.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

from fedikit.plugin_api import BackendError, BufferedSubscription, StartupError
from fedikit.plugins.memory_pubsub.pubsub import MemoryPubSub

log = logging.getLogger("fedikit.streaming.sockets")

SOCKET_PATH_LIMIT = 107  # bytes in a Unix socket's path (Linux)
MAX_MESSAGE = 16_384  # bytes of channel and message together
SEND_TIMEOUT = 1.0  # seconds a receiver's full queue may hold a publisher up before the message is dropped


class SocketPubSub(MemoryPubSub):
    cross_process = True

    def __init__(self, folder: Path) -> None:
        super().__init__()
        longest = folder / f"{2**22}.sock"  # the largest pid Linux gives
        if len(os.fsencode(longest)) > SOCKET_PATH_LIMIT:
            raise StartupError(
                f"the streaming sockets' folder {folder} is too long a path for Unix sockets; "
                "choose a shorter FEDIKIT_DATA_DIR or a STREAMING_BACKEND with a service (REDIS_URL)"
            )
        self._folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # only this user's processes may send to the sockets or read the lists
        self._pid = 0  # the process that bound ``_receiver``; a forked child binds its own
        self._receiver: socket.socket | None = None
        self._peers_out: dict[str, socket.socket] = {}  # socket path -> a socket connected to it
        self._sender_pid = 0
        # channels file -> (its inode, size and mtime; the channels it lists)
        self._peers: dict[str, tuple[tuple[int, int, int], frozenset[str]]] = {}
        self._connecting = threading.Lock()
        self._closed = False
        self._writing = threading.Lock()

    # ------------------------------------------------------------ publishing

    def publish(self, channel: str, message: str) -> None:
        data = f"{channel}\0{message}".encode()
        if len(data) > MAX_MESSAGE:
            raise BackendError(f"streaming message of {len(data)} bytes; at most {MAX_MESSAGE} go between processes")
        super().publish(channel, message)  # this process's own subscribers
        own = f"{os.getpid()}.sock"
        for entry in os.scandir(self._folder):
            if not entry.name.endswith(".sock") or entry.name == own:
                continue
            pid = entry.name.removesuffix(".sock")
            try:
                self._peer(entry.path).send(data)
            except (ConnectionRefusedError, FileNotFoundError):  # its process has ended
                self._forget(pid)
            except TimeoutError:
                log.warning("process %s reads no streaming messages; one dropped", pid)
            except OSError as exc:  # any other trouble with one process must not keep the others waiting
                self._drop_peer(entry.path)
                log.warning("could not pass a streaming message to process %s: %r", pid, exc)

    def _peer(self, path: str) -> socket.socket:
        """A datagram socket connected to the process at ``path`` (kept): a connected socket waits for room
        in that process's queue (an unconnected one would spin), for at most ``SEND_TIMEOUT``."""
        with self._connecting:
            if self._sender_pid != os.getpid():  # forked: the parent's sockets are not this process's
                self._peers_out, self._sender_pid = {}, os.getpid()
            sender = self._peers_out.get(path)
            if sender is None:
                sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sender.settimeout(SEND_TIMEOUT)
                try:
                    sender.connect(path)
                except OSError:
                    sender.close()
                    raise
                self._peers_out[path] = sender
            return sender

    def _drop_peer(self, path: str) -> None:
        with self._connecting:
            sender = self._peers_out.pop(path, None)
        if sender is not None:
            sender.close()

    def _forget(self, pid: str) -> None:
        """Everything about process ``pid``: its files, its list as read, the socket connected to it."""
        self._drop_peer(str(self._folder / f"{pid}.sock"))
        for suffix in (".sock", ".channels", ".partial"):
            with contextlib.suppress(FileNotFoundError):
                (self._folder / f"{pid}{suffix}").unlink()
        self._peers.pop(f"{pid}.channels", None)

    # ------------------------------------------------------------ subscribing

    def subscribe(self, channels: Sequence[str]) -> BufferedSubscription:
        self._bind()
        subscription = super().subscribe(channels)
        self._write_channels()
        return subscription

    def _unsubscribe(self, subscription: BufferedSubscription) -> None:
        super()._unsubscribe(subscription)
        if self._pid == os.getpid() and not self._closed:
            self._write_channels()

    def _bind(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._pid:  # forked from a process that had subscribers: none of them are here
                self._subscribers.clear()
            pid = os.getpid()
            self._forget(str(pid))  # left by an earlier process with this pid
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            receiver.bind(str(self._folder / f"{pid}.sock"))
            self._receiver, self._pid = receiver, pid
        threading.Thread(target=self._receive, args=(receiver,), name="fedikit-streaming-sockets", daemon=True).start()

    def _receive(self, receiver: socket.socket) -> None:
        while True:
            try:
                data = receiver.recv(MAX_MESSAGE)
            except OSError:  # closed
                return
            if not data and self._receiver is not receiver:  # shut down by close()
                return
            channel, _, message = data.decode("utf-8", "replace").partition("\0")
            MemoryPubSub.publish(self, channel, message)

    def _write_channels(self) -> None:
        """Tell the other processes (through ``active_channels``) what this one listens to now."""
        with self._writing:  # one writer at a time: an older list never replaces a newer one
            with self._lock:
                text = "\n".join(sorted(self._subscribers))
            path = self._folder / f"{os.getpid()}.channels"
            partial = path.with_suffix(".partial")
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(partial, flags, 0o600), "w") as out:  # a new file: never through a link
                out.write(text)
            partial.replace(path)

    # ------------------------------------------------------------ who listens

    def active_channels(self) -> set[str]:
        listening = MemoryPubSub.active_channels(self)
        own = f"{os.getpid()}.channels"
        for entry in os.scandir(self._folder):
            if not entry.name.endswith(".channels") or entry.name == own:
                continue
            try:
                found = entry.stat()
                changed = (found.st_ino, found.st_size, found.st_mtime_ns)  # a new file has a new inode
                known = self._peers.get(entry.name)
                if known is None or known[0] != changed:
                    known = (changed, frozenset(Path(entry.path).read_text().split()))
                    self._peers[entry.name] = known
            except FileNotFoundError:  # removed meanwhile
                self._peers.pop(entry.name, None)
                continue
            listening |= known[1]
        return listening

    def close(self) -> None:
        self._closed = True
        with self._lock:
            subscriptions = {s for members in self._subscribers.values() for s in members}
        for subscription in subscriptions:
            subscription.close()
        receiver = self._receiver
        if receiver is not None and self._pid == os.getpid():
            self._receiver, self._pid = None, 0
            self._forget(str(os.getpid()))
            with contextlib.suppress(OSError):
                receiver.shutdown(socket.SHUT_RDWR)  # wakes the receiving thread (closing alone would not)
            receiver.close()
        if self._sender_pid == os.getpid():
            for path in list(self._peers_out):
                self._drop_peer(path)
