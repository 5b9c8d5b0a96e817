"""Federation peers we did not write, installed from the package registries and run on loopback.

Two servers:

- **Fedify** (npm ``@fedify/fedify``), driven by the small peer script
  ``fedify_peer.mjs`` next to this file, on the machine's Node.js.
- **bovine-herd** (PyPI), in a virtualenv of its own (its dependencies must not
  enter fedikit's), served by hypercorn with the routes of ``bovine_peer.py``.

Installs are cached under ``.cache/`` next to this file (``FEDIKIT_PEERS_CACHE``
to move it) and reused when complete, guarded by a file lock because several
test sessions may share the tree. A peer that cannot be installed or started
skips the tests that need it, with the reason, unless
``FEDIKIT_REQUIRE_SERVICES=1``, which makes them fail instead.

Each peer answers the same control routes (plain JSON GETs): ``/_follow``,
``/_post`` and ``/_received``; see :class:`Peer`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("FEDIKIT_PEERS_CACHE", HERE / ".cache"))
REQUIRE_SERVICES = os.environ.get("FEDIKIT_REQUIRE_SERVICES") == "1"

FEDIFY_VERSION = "1.5.9"  # the newest Fedify whose engines accept Node.js 20
BOVINE_REQUIREMENTS = ["bovine-herd==0.5.19", "bovine==0.5.19", "hypercorn==0.18.0"]
INSTALL_TIMEOUT = 900


def unavailable(message: str) -> NoReturn:
    """Skip (or, with FEDIKIT_REQUIRE_SERVICES=1, fail) the tests that need this peer."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; FEDIKIT_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(message)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def _locked(name: str) -> Iterator[Path]:
    """An install folder, held under an exclusive lock for the duration."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield CACHE / name


def _run_install(command: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        unavailable(f"installing {what} failed: {error}")
    if result.returncode != 0:
        unavailable(f"installing {what} failed ({' '.join(command)}):\n{_tail(result.stdout + result.stderr)}")


def install_fedify() -> Path:
    """A folder with ``@fedify/fedify`` in its node_modules; npm-installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node.js and npm are needed for the Fedify peer and are not on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if not version.startswith("v") or int(version[1:].split(".")[0]) < 20:
        unavailable(f"the Fedify peer needs Node.js >= 20, found {version or 'nothing'}")
    with _locked(f"fedify-{FEDIFY_VERSION}") as folder:
        if not (folder / ".installed").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            package = {"name": "fedikit-fedify-peer", "private": True, "type": "module"}
            (folder / "package.json").write_text(json.dumps(package))
            _run_install(
                [npm, "install", "--no-audit", "--no-fund", f"@fedify/fedify@{FEDIFY_VERSION}"],
                folder,
                f"@fedify/fedify@{FEDIFY_VERSION} from npm",
            )
            (folder / ".installed").write_text(FEDIFY_VERSION)
        # The script must sit next to node_modules for Node to resolve "@fedify/fedify".
        shutil.copyfile(HERE / "fedify_peer.mjs", folder / "fedify_peer.mjs")
        return folder


def install_bovine() -> Path:
    """A virtualenv with bovine-herd and hypercorn; pip-installed on first use. Returns its folder."""
    with _locked("bovine-venv") as venv:
        marker = venv / ".installed"
        wanted = " ".join(BOVINE_REQUIREMENTS)
        if not marker.exists() or marker.read_text() != wanted:
            shutil.rmtree(venv, ignore_errors=True)
            _run_install([sys.executable, "-m", "venv", str(venv)], CACHE, "a virtualenv for bovine")
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            _run_install([*pip, *BOVINE_REQUIREMENTS], CACHE, f"{wanted} from PyPI")
            marker.write_text(wanted)
        return venv


class Peer:
    """A running peer server: its base URL, and the control routes the tests drive it with."""

    kind = "peer"

    def __init__(self, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.domain = f"127.0.0.1:{port}"
        self.base_url = f"http://{self.domain}"
        self.process = process
        self.log_path = log_path

    def control(self, route: str, **params: str) -> Any:
        url = f"{self.base_url}/_{route}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            raise AssertionError(f"{self.kind} /_{route} answered {error.code}: {body}\n{self.log()}") from None

    def new_actor(self, name: str) -> str:
        """Make actor ``name`` exist; its id."""
        raise NotImplementedError

    def handle(self, name: str) -> str:
        return f"{name}@{self.domain}"

    def follow(self, name: str, target: str) -> Any:
        return self.control("follow", actor=name, target=target)

    def post(self, name: str, text: str) -> Any:
        return self.control("post", actor=name, text=text)

    def received(self) -> list[dict[str, Any]]:
        """Everything that reached the peer's inboxes: ``{"type"?, "json": <activity>, ...}`` each."""
        return self.control("received")

    def log(self) -> str:
        return _tail(self.log_path.read_text(errors="replace"), 60) if self.log_path.exists() else ""


class FedifyPeer(Peer):
    kind = "Fedify"

    def new_actor(self, name: str) -> str:
        return f"{self.base_url}/users/{name}"  # every name exists; keys are made on first use


class BovinePeer(Peer):
    kind = "bovine-herd"

    def new_actor(self, name: str) -> str:
        return self.control("register", name=name)["id"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(
    peer_class: type[Peer], command: list[str], cwd: Path, env: dict[str, str], port: int, probe: str
) -> Iterator[Peer]:
    """Start ``command`` (its own process group), wait until ``probe`` answers, stop it by PID at the end."""
    log_path = cwd / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True)
    peer = peer_class(port, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{peer.base_url}{probe}", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    unavailable(f"the {peer.kind} peer did not start:\n{peer.log()}")
                time.sleep(0.2)
        yield peer
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)  # the group we started: hypercorn may have a worker process
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        log.close()


@contextlib.contextmanager
def fedify_peer() -> Iterator[Peer]:
    folder = install_fedify()
    port = _free_port()
    command = [shutil.which("node") or "node", "fedify_peer.mjs", str(port)]
    with _serving(FedifyPeer, command, folder, dict(os.environ), port, "/_received") as peer:
        yield peer


@contextlib.contextmanager
def bovine_peer(folder: Path) -> Iterator[Peer]:
    """bovine-herd with its database in ``folder`` (new for each run)."""
    venv = install_bovine()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "bovine_peer.py", folder / "bovine_peer.py")
    port = _free_port()
    env = {
        **os.environ,
        "BUTCHER_ALLOW_HTTP": "1",  # bovine's WebFinger lookups may use http (all peers are on loopback)
        "BOVINE_PEER_DB": f"sqlite://{folder / 'bovine.sqlite3'}",
        "PYTHONPATH": str(folder),
    }
    env.pop("VIRTUAL_ENV", None)
    command = [str(venv / "bin" / "hypercorn"), "--bind", f"127.0.0.1:{port}", "bovine_peer:app"]
    with _serving(BovinePeer, command, folder, env, port, "/_received") as peer:
        yield peer
