"""The s3 media store against a real S3-compatible server (moto's, in its own process).

The conformance suite runs on the store; the rest goes through the client
API and looks at the bucket the way an admin or a browser would: with an S3
client, and with plain HTTP GETs of the URLs the API hands out.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from s3_server import MotoServer, moto_server
from sqlalchemy import func, select

from fedikit.core.db import db
from fedikit.core.models import MediaAttachment
from fedikit.core.services import accounts
from fedikit.core.state import current
from fedikit.plugin_api import NotFound, StartupError
from fedikit.plugin_api.conformance import MediaStoreConformance
from fedikit.plugin_api.testing import close_app, make_app

pytest.importorskip("boto3")
PIL = pytest.importorskip("PIL")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def s3_extra() -> dict[str, Any]:
    """Settings a test adds to the bucket's (override with parametrize or in a test class)."""
    return {}


@pytest.fixture
def fedikit_config(moto: MotoServer, bucket: str, s3_extra: dict[str, Any]) -> dict[str, Any]:
    return moto.config(bucket, **s3_extra)


def bearer(client: FlaskClient, username: str = "alice") -> dict[str, str]:
    """A confirmed local user's token, obtained with the password grant as an app would."""
    password = "correct horse battery"
    accounts.create_local_account(username, f"{username}@example.com", password, confirmed=True)
    app = client.post(
        "/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}
    ).json
    token = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read write",
        },
    ).json
    return {"Authorization": f"Bearer {token['access_token']}"}


def image_bytes(size: tuple[int, int] = (800, 600)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, format="PNG")
    return out.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], data: bytes | None = None) -> Any:
    form = {"file": (io.BytesIO(data or image_bytes()), "photo.png", "image/png")}
    return client.post("/api/v2/media", data=form, headers=headers, content_type="multipart/form-data")


def keys_in(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def media_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(MediaAttachment))


# ---------------------------------------------------------------- the store's contract


class TestS3Conformance(MediaStoreConformance):
    pass


class TestS3ConformanceWithPrefixAndNoAcl(MediaStoreConformance):
    @pytest.fixture
    def s3_extra(self) -> dict[str, Any]:
        return {"S3_KEY_PREFIX": "instance-a/", "S3_PERMISSION": ""}


def test_missing_key_is_not_found_and_exists_is_false(fedikit_app: Flask) -> None:
    store = current().media
    assert not store.exists("media/none.png")
    with pytest.raises(NotFound):
        store.open("media/none.png")


@pytest.mark.parametrize("s3_extra", [{"S3_MULTIPART_THRESHOLD": "5"}])
def test_large_file_goes_up_in_parts(fedikit_app: Flask, s3: Any, bucket: str) -> None:
    store = current().media
    data = bytes(range(256)) * (6 * 4096 + 1)  # a little over 6 MB, past the smallest threshold (5 MB)
    store.put("media/big.mp4", io.BytesIO(data), "video/mp4")
    with store.open("media/big.mp4") as handle:
        assert handle.read() == data
    head = s3.head_object(Bucket=bucket, Key="media/big.mp4")
    assert head["ContentType"] == "video/mp4"
    assert "-" in head["ETag"]  # a multipart upload's ETag names its part count


# ---------------------------------------------------------------- through the API


def test_upload_lands_in_the_bucket_with_public_urls(
    fedikit_client: FlaskClient, moto: MotoServer, s3: Any, bucket: str
) -> None:
    response = upload(fedikit_client, bearer(fedikit_client))
    assert response.status_code == 200, response.text
    media = response.json
    keys = keys_in(s3, bucket)
    assert len(keys) == 2 and {key.split("/")[-2] for key in keys} == {"original", "small"}
    assert all(key.startswith("media_attachments/files/") and key.endswith(".png") for key in keys)
    base = f"{moto.endpoint}/{bucket}/"
    assert {media["url"], media["preview_url"]} == {base + key for key in keys}
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "image/png" and "immutable" in head["CacheControl"]
        grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)
    fetched = httpx.get(media["url"])  # anonymous, as a browser fetches it
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert fetched.content.startswith(b"\x89PNG")
    assert httpx.get(media["preview_url"]).status_code == 200


@pytest.mark.parametrize("s3_extra", [{"S3_ALIAS_HOST": "files.example.test", "S3_PROTOCOL": "https"}])
def test_alias_host_changes_the_url_and_drops_the_bucket(fedikit_client: FlaskClient, s3: Any, bucket: str) -> None:
    media = upload(fedikit_client, bearer(fedikit_client)).json
    keys = keys_in(s3, bucket)
    assert {media["url"], media["preview_url"]} == {f"https://files.example.test/{key}" for key in keys}


def test_deleting_media_deletes_the_objects(fedikit_client: FlaskClient, s3: Any, bucket: str) -> None:
    headers = bearer(fedikit_client)
    media = upload(fedikit_client, headers).json
    status = fedikit_client.post(
        "/api/v1/statuses", data={"status": "look", "media_ids[]": media["id"]}, headers=headers
    )
    assert status.status_code == 200, status.text
    # Deleting the status detaches its media, kept for a redraft as Mastodon keeps them ...
    assert fedikit_client.delete(f"/api/v1/statuses/{status.json['id']}", headers=headers).status_code == 200
    assert len(keys_in(s3, bucket)) == 2
    # ... and deleting the media removes the objects.
    deleted = fedikit_client.delete(f"/api/v1/media/{media['id']}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert keys_in(s3, bucket) == []
    assert httpx.get(media["url"]).status_code == 404


def test_a_new_thumbnail_replaces_the_old_object(fedikit_client: FlaskClient, s3: Any, bucket: str) -> None:
    headers = bearer(fedikit_client)
    media = upload(fedikit_client, headers).json
    form = {"thumbnail": (io.BytesIO(image_bytes((64, 64))), "t.png", "image/png")}
    updated = fedikit_client.put(
        f"/api/v1/media/{media['id']}", data=form, headers=headers, content_type="multipart/form-data"
    )
    assert updated.status_code == 200, updated.text
    keys = keys_in(s3, bucket)
    assert len(keys) == 2 and not any("/small/" in key for key in keys)
    assert any(key.startswith("media_attachments/thumbnails/") for key in keys)
    assert httpx.get(updated.json["preview_url"]).status_code == 200


@pytest.mark.parametrize("s3_extra", [{"S3_PRESIGNED": "true", "S3_PRESIGN_EXPIRES": "120"}])
def test_presigned_urls_reach_a_private_bucket(fedikit_client: FlaskClient, s3: Any, bucket: str) -> None:
    headers = bearer(fedikit_client)
    before = time.time()
    media = upload(fedikit_client, headers).json
    url = urlsplit(media["url"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and query["X-Amz-Signature"]
    assert query["X-Amz-Expires"] == "120"
    signed_at = time.mktime(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")) - time.timezone
    assert before - 2 <= signed_at <= time.time() + 2  # valid from when the answer was made, for 120 s
    fetched = httpx.get(media["url"])
    assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
    # The object itself is private: without the signature it cannot be read.
    assert httpx.get(url._replace(query="").geturl()).status_code == 403
    key = url.path.removeprefix(f"/{bucket}/")
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert not any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    # Each answer is signed anew, so a client that reloads gets a fresh URL.
    time.sleep(1.1)
    again = fedikit_client.get(f"/api/v1/media/{media['id']}", headers=headers).json
    assert again["url"] != media["url"] and httpx.get(again["url"]).status_code == 200


# ---------------------------------------------------------------- configuration


def test_s3_enabled_chooses_the_s3_store(moto: MotoServer, bucket: str, tmp_path: Any) -> None:
    config = moto.config(bucket)
    del config["MEDIA_BACKEND"]
    app = make_app({**config, "S3_ENABLED": "true"}, data_dir=str(tmp_path))
    try:
        assert type(app.extensions["fedikit"].media).__name__ == "S3MediaStore"
    finally:
        close_app(app)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"S3_BUCKET": ""}, "S3_BUCKET"),
        ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
        ({"S3_ENDPOINT": "ftp://storage.example"}, "S3_ENDPOINT"),
        ({"S3_PROTOCOL": "gopher"}, "S3_PROTOCOL"),
        ({"S3_PRESIGNED": "true", "S3_ALIAS_HOST": "files.example"}, "S3_ALIAS_HOST"),
        ({"S3_PRESIGNED": "true", "S3_PRESIGN_EXPIRES": "999999999"}, "S3_PRESIGN_EXPIRES"),
        ({"S3_PRESIGNED": "maybe"}, "S3_PRESIGNED"),
        ({"S3_KEY_PREFIX": "a/../b"}, "S3_KEY_PREFIX"),
        ({"S3_READ_TIMEOUT": "soon"}, "S3_READ_TIMEOUT"),
    ],
)
def test_bad_settings_stop_startup_naming_the_variable(
    moto: MotoServer, settings: dict[str, str], message: str, tmp_path: Any
) -> None:
    with pytest.raises(StartupError, match=message):
        make_app({**moto.config("some-bucket"), **settings}, data_dir=str(tmp_path))


def test_startup_does_not_wait_for_s3(tmp_path: Any) -> None:
    down = MotoServer()  # never started: its port is closed
    started = time.monotonic()
    app = make_app(down.config("some-bucket"), data_dir=str(tmp_path))
    close_app(app)
    assert time.monotonic() - started < 10


# ---------------------------------------------------------------- S3 going away


@pytest.fixture
def flaky() -> Iterator[MotoServer]:
    """A server of this test's own, so that killing it disturbs no other test."""
    with moto_server() as server:
        yield server


@pytest.fixture
def flaky_app(flaky: MotoServer, database: dict[str, str], tmp_path: Any) -> Iterator[Flask]:
    flaky.client().create_bucket(Bucket="flaky")
    app = make_app({**database, **flaky.config("flaky", S3_MAX_ATTEMPTS="2")}, data_dir=str(tmp_path / "data"))
    with app.app_context():
        yield app
    close_app(app)


def test_s3_down_answers_503_and_keeps_no_row(flaky: MotoServer, flaky_app: Flask) -> None:
    client = flaky_app.test_client()
    headers = bearer(client)
    assert upload(client, headers).status_code == 200
    assert media_rows() == 1

    flaky.stop()  # before the upload
    started = time.monotonic()
    response = upload(client, headers)
    assert response.status_code == 503
    assert response.json == {"error": "Media storage is unavailable, please try again later"}
    assert time.monotonic() - started < 15  # connect timeout and a short backoff, not a hang
    assert media_rows() == 1

    flaky.start()  # back, and empty (moto keeps objects in memory)
    flaky.client().create_bucket(Bucket="flaky")
    response = upload(client, headers)
    assert response.status_code == 200, response.text
    assert media_rows() == 2
    assert httpx.get(response.json["url"]).status_code == 200


def test_s3_dying_between_two_files_keeps_no_row(
    flaky: MotoServer, flaky_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = flaky_app.test_client()
    headers = bearer(client)
    store = current().media
    real_put = store.put

    def put_then_kill_the_server(key: str, data: Any, content_type: str) -> None:
        real_put(key, data, content_type)  # the original reaches S3; the server dies before the thumbnail
        flaky.stop()

    monkeypatch.setattr(store, "put", put_then_kill_the_server)
    response = upload(client, headers)
    assert response.status_code == 503 and "error" in response.json
    assert media_rows() == 0
