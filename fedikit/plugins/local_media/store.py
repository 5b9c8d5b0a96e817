"""A media store on the local file system."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO

from fedikit.plugin_api import NotFound, checked_media_key


class LocalMediaStore:
    public_urls = False  # served by the app at /system/<key> (or by a proxy in front of it)

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*PurePosixPath(checked_media_key(key)).parts)

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out)
            os.replace(tmp, target)  # readers never see half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(key) from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def url(self, key: str) -> str:
        return f"{self.base_url}/{checked_media_key(key)}"
