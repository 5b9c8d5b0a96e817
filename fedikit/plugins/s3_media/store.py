"""A media store on S3 or an S3-compatible server, through boto3.

This module is imported only by the backend factory, and boto3 itself (about
25 MB with an S3 client) only when a process first touches the bucket: a job
worker that only delivers and fans out never loads it.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from typing import IO, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from fedikit.plugin_api import BackendError, NotFound, checked_media_key
from fedikit.plugins.s3_media.settings import PUBLIC_READ, S3Settings

log = logging.getLogger("fedikit.s3_media")

# Keys are random per upload and never rewritten in place by core, so a public copy may be cached for good.
PUBLIC_CACHE_CONTROL = "public, max-age=315576000, immutable"
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class StorageUnavailable(BackendError):
    """S3 could not be reached or refused the request: the caller sees a 503 and may try again.

    The message is shown to API clients, so it names no host, bucket or
    credential; the details go to the log.
    """

    def __init__(self) -> None:
        super().__init__("Media storage is unavailable, please try again later")


class S3MediaStore:
    """Files as objects in one bucket; clients fetch them from S3 (or a CDN) directly, never through the app."""

    public_urls = True  # also when presigned: the URL reaches the bytes without the app

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._transfer: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client, self._transfer = _make_client(self.settings)
        return self._client

    @property
    def transfer(self) -> Any:
        self.client  # noqa: B018 - made together with the client
        return self._transfer

    def object_key(self, key: str) -> str:
        return self.settings.key_prefix + checked_media_key(key)

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None:
        name = self.object_key(key)
        extra: dict[str, Any] = {"ContentType": content_type}
        if self.settings.permission:
            extra["ACL"] = self.settings.permission
        if self.settings.permission == PUBLIC_READ:
            extra["CacheControl"] = PUBLIC_CACHE_CONTROL
        if self.settings.storage_class:
            extra["StorageClass"] = self.settings.storage_class
        body: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        try:
            if self.settings.force_single_request or _size(body) <= self.settings.multipart_threshold:
                self.client.put_object(Bucket=self.settings.bucket, Key=name, Body=body, **extra)
            else:  # large video: parts in parallel, each retried on its own
                self.client.upload_fileobj(body, self.settings.bucket, name, ExtraArgs=extra, Config=self.transfer)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("put", name, exc) from exc

    def open(self, key: str) -> IO[bytes]:
        name = self.object_key(key)
        try:
            answer = self.client.get_object(Bucket=self.settings.bucket, Key=name)
        except ClientError as exc:
            if _missing(exc):
                raise NotFound(key) from None
            raise self._unavailable("get", name, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("get", name, exc) from exc
        return answer["Body"]  # a streaming, closable file object: large files are not read into memory

    def delete(self, key: str) -> None:
        name = self.object_key(key)
        try:
            self.client.delete_object(Bucket=self.settings.bucket, Key=name)  # S3 answers 204 for a missing key too
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("delete", name, exc) from exc

    def exists(self, key: str) -> bool:
        name = self.object_key(key)
        try:
            self.client.head_object(Bucket=self.settings.bucket, Key=name)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise self._unavailable("head", name, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("head", name, exc) from exc
        return True

    def url(self, key: str) -> str:
        name = self.object_key(key)
        settings = self.settings
        if settings.presigned:
            # Signed locally (an HMAC, no request to S3): each call gives a URL valid from now.
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": settings.bucket, "Key": name}, ExpiresIn=settings.presign_expires
            )
        path = quote(name, safe="/")
        if settings.alias_host:
            return f"{settings.protocol}://{settings.alias_host}/{path}"
        return f"{settings.protocol}://{settings.hostname}/{settings.bucket}/{path}"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _unavailable(self, operation: str, name: str, exc: Exception) -> StorageUnavailable:
        log.error("S3 %s of %s in bucket %s failed: %s", operation, name, self.settings.bucket, exc)
        return StorageUnavailable()


def _size(body: IO[bytes]) -> int:
    """Bytes left in ``body``; a stream that cannot tell counts as large (it goes up in parts)."""
    try:
        position = body.tell()
        end = body.seek(0, os.SEEK_END)
        body.seek(position)
        return end - position
    except (AttributeError, OSError, ValueError):
        return 1 << 62


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in MISSING_CODES or status == 404


def _make_client(settings: S3Settings) -> tuple[Any, Any]:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    config = Config(
        region_name=settings.region,
        signature_version=settings.signature_version,
        connect_timeout=settings.open_timeout,
        read_timeout=settings.read_timeout,
        # "standard" retries back off with jitter and also retry throttling answers (503 SlowDown).
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        # botocore's newer default sends CRC trailers with every upload, which many S3-compatible
        # servers refuse; checksums only where the operation requires them works everywhere.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # A session of our own: boto3's default session is shared process state and not thread-safe to build.
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )
    return client, TransferConfig(multipart_threshold=settings.multipart_threshold, max_concurrency=4)
