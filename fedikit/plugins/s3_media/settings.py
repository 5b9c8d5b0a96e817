"""The S3 settings, read from Mastodon's variable names and checked before any client is made.

Kept apart from the store so that a configuration mistake is reported at
startup without importing boto3, and so that every rule about defaults lives
in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fedikit.plugin_api import StartupError

PUBLIC_READ = "public-read"
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
SIGNATURE_VERSIONS = {"v4": "s3v4", "v2": "s3"}  # Mastodon's names -> botocore's
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "f", ""})


@dataclasses.dataclass(frozen=True)
class S3Settings:
    """Everything the store needs, already checked and with defaults applied."""

    bucket: str
    region: str
    endpoint: str | None  # None: AWS, found from the region
    access_key_id: str | None  # None with the secret: boto3's own credential chain (instance roles)
    secret_access_key: str | None
    signature_version: str  # botocore's name
    addressing_style: str  # "path", "virtual" or "auto"
    protocol: str  # of the URLs handed to clients
    hostname: str
    alias_host: str | None
    permission: str  # object ACL; "" sends none
    storage_class: str | None
    key_prefix: str  # "" or "something/"
    force_single_request: bool
    multipart_threshold: int  # bytes
    open_timeout: float
    read_timeout: float
    max_attempts: int
    presigned: bool
    presign_expires: int  # seconds

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Settings:
        bucket = _text(config, "S3_BUCKET")
        if not bucket:
            raise StartupError("S3_BUCKET: the name of the bucket is required when media are stored on S3")
        region = _text(config, "S3_REGION") or "us-east-1"
        endpoint = _text(config, "S3_ENDPOINT")
        if endpoint:
            if "://" not in endpoint:
                endpoint = f"https://{endpoint}"  # Mastodon's examples give it with and without a scheme
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise StartupError(f"S3_ENDPOINT: {endpoint!r} is not an http(s) URL")
        key_id, secret = _text(config, "AWS_ACCESS_KEY_ID"), _text(config, "AWS_SECRET_ACCESS_KEY")
        if bool(key_id) != bool(secret):
            missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
            raise StartupError(f"{missing}: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
        version = (_text(config, "S3_SIGNATURE_VERSION") or "v4").lower()
        if version not in SIGNATURE_VERSIONS:
            raise StartupError(f"S3_SIGNATURE_VERSION: expected v4 or v2, got {version!r}")

        # Mastodon sends path-style requests to a custom endpoint unless told otherwise; MinIO-like
        # servers need exactly that, and AWS itself works either way.
        override_path_style = _flag(config, "S3_OVERRIDE_PATH_STYLE", False)
        addressing_style = ("virtual" if override_path_style else "path") if endpoint else "auto"

        # Where clients fetch from. Without S3_HOSTNAME, a custom endpoint serves its own objects.
        hostname = _text(config, "S3_HOSTNAME")
        default_protocol = "https"
        if not hostname and endpoint:
            parts = urlsplit(endpoint)
            hostname, default_protocol = parts.netloc, parts.scheme
        hostname = hostname or f"s3-{region}.amazonaws.com"
        protocol = (_text(config, "S3_PROTOCOL") or default_protocol).lower()
        if protocol not in ("http", "https"):
            raise StartupError(f"S3_PROTOCOL: expected http or https, got {protocol!r}")
        alias_host = _text(config, "S3_ALIAS_HOST")
        if alias_host and "://" in alias_host:
            raise StartupError(f"S3_ALIAS_HOST: give a host name (files.example.com), not a URL: {alias_host!r}")

        presigned = _flag(config, "S3_PRESIGNED", False)
        expires = _number(config, "S3_PRESIGN_EXPIRES", 86400)
        if presigned and not 1 <= expires <= MAX_PRESIGN_SECONDS:
            raise StartupError(f"S3_PRESIGN_EXPIRES: expected 1 to {MAX_PRESIGN_SECONDS} seconds, got {expires}")
        if presigned and alias_host:
            raise StartupError(
                "S3_ALIAS_HOST cannot be combined with S3_PRESIGNED: a presigned URL is signed for the storage host"
            )
        # A private bucket is the point of presigned URLs, so an unset S3_PERMISSION means no public ACL there.
        permission = config.get("S3_PERMISSION")
        permission = ("private" if presigned else PUBLIC_READ) if permission is None else str(permission).strip()

        prefix = (_text(config, "S3_KEY_PREFIX") or "").strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise StartupError(f"S3_KEY_PREFIX: {prefix!r} is not a plain relative path")

        threshold_mb = _number(config, "S3_MULTIPART_THRESHOLD", 15)
        return cls(
            bucket=bucket,
            region=region,
            endpoint=endpoint,
            access_key_id=key_id,
            secret_access_key=secret,
            signature_version=SIGNATURE_VERSIONS[version],
            addressing_style=addressing_style,
            protocol=protocol,
            hostname=hostname,
            alias_host=alias_host,
            permission=permission,
            storage_class=_text(config, "S3_STORAGE_CLASS"),
            key_prefix=f"{prefix}/" if prefix else "",
            force_single_request=_flag(config, "S3_FORCE_SINGLE_REQUEST", False),
            multipart_threshold=max(5, threshold_mb) * 1024 * 1024,  # S3's smallest part is 5 MB
            open_timeout=_number(config, "S3_OPEN_TIMEOUT", 5, minimum=1),
            read_timeout=_number(config, "S3_READ_TIMEOUT", 5, minimum=1),
            max_attempts=_number(config, "S3_MAX_ATTEMPTS", 3, minimum=1),
            presigned=presigned,
            presign_expires=expires,
        )


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    text = str(value).strip() if value is not None else ""
    return text or None


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise StartupError(f"{key}: expected true or false, got {value!r}")


def _number(config: Mapping[str, Any], key: str, default: int, *, minimum: int = 0) -> int:
    value = config.get(key)
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise StartupError(f"{key}: expected a whole number, got {value!r}") from None
    if number < minimum:
        raise StartupError(f"{key}: expected at least {minimum}, got {number}")
    return number
