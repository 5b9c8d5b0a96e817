"""Server-sent-event streams read in process, event by event, as a client reads them.

``STREAMING_HEARTBEAT=1`` in a test's config makes a quiet stream send a
heartbeat every second, so "nothing was sent" is observed, not assumed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.testing import FlaskClient

from fedikit.plugin_api.testing import settle

if TYPE_CHECKING:
    from conftest import ApiUser


class Stream:
    """An open server-sent-events stream, read event by event."""

    def __init__(self, client: FlaskClient, path: str, user: ApiUser | None, **params: str) -> None:
        headers = user.headers if user is not None else {}
        self.response = client.get(f"/api/v1/streaming/{path}", query_string=params, headers=headers, buffered=False)
        self._chunks: Iterator[bytes] = iter(self.response.response)
        self._buffer = ""

    def _next_block(self) -> str:
        while "\n\n" not in self._buffer:
            chunk = next(self._chunks)
            self._buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        block, self._buffer = self._buffer.split("\n\n", 1)
        return block

    def events(self, app: Flask, beats: int = 1) -> list[tuple[str, Any]]:
        """Every event up to the ``beats``-th heartbeat after the jobs queued so far have run."""
        settle(app)
        out: list[tuple[str, Any]] = []
        seen = 0
        while seen < beats:
            block = self._next_block()
            if block.startswith(":"):
                seen += block == ":thump"
                continue
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            data = fields["data"]
            out.append((fields["event"], json.loads(data) if data.startswith("{") else data))
        return out

    def close(self) -> None:
        self.response.close()
