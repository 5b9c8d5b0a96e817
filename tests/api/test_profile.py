"""Profile images (avatar and header through update_credentials and /api/v1/profile) and private account notes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pytest
from contract import document, validate
from flask.testing import FlaskClient
from sqlalchemy import select
from test_media import fedikit_config, image_bytes, open_stored, stored_files  # noqa: F401 (fedikit_config: files are looked at)

from fedikit.core.db import db
from fedikit.core.models import Account, AccountNote
from fedikit.core.services import media as media_service

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

PIL = pytest.importorskip("PIL")
UPDATE = "/api/v1/accounts/update_credentials"
MISSING = "/avatars/original/missing.png"


@pytest.fixture(autouse=True)
def _openapi() -> None:
    document()


def patch(client: FlaskClient, who: ApiUser, **form: Any) -> Any:
    return client.patch(UPDATE, data=form, headers=who.headers, content_type="multipart/form-data")


def upload(data: bytes, name: str = "picture.png") -> tuple[io.BytesIO, str, str]:
    return io.BytesIO(data), name, "image/png"


def animated_gif(size: tuple[int, int], frames: int = 3) -> bytes:
    from PIL import Image

    colours = ["red", "green", "blue", "yellow"]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def profile_keys(account: Account) -> tuple[Any, ...]:
    db.session.expire_all()
    fresh = db.session.get(Account, account.id)
    return (fresh.avatar_key, fresh.avatar_static_key, fresh.header_key, fresh.header_static_key, fresh.display_name)


# ---------------------------------------------------------------- avatar and header


def test_avatar_is_cropped_to_400_square(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = patch(fedikit_client, api_user, avatar=upload(image_bytes((800, 600))))
    assert answer.status_code == 200, answer.text
    validate(answer.json, "CredentialAccount")
    avatar = answer.json["avatar"]
    assert not avatar.endswith(MISSING) and avatar == answer.json["avatar_static"]
    stored = open_stored(avatar)
    assert (stored.format, stored.size) == ("PNG", (400, 400))
    assert "/accounts/avatars/" in avatar and "picture" not in avatar
    shown = fedikit_client.get(f"/api/v1/accounts/{api_user.account.id}").json
    validate(shown, "Account")
    assert shown["avatar"] == avatar
    assert answer.json["header"].endswith("/headers/original/missing.png")


def test_small_avatar_is_enlarged_to_fill(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = patch(fedikit_client, api_user, avatar=upload(image_bytes((50, 120), "JPEG"), "small.jpg"))
    assert answer.status_code == 200, answer.text
    stored = open_stored(answer.json["avatar"])
    assert (stored.format, stored.size) == ("JPEG", (400, 400))


def test_header_keeps_its_shape_within_1500x500_pixels(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = patch(fedikit_client, api_user, header=upload(image_bytes((3000, 1000))))
    assert answer.status_code == 200, answer.text
    validate(answer.json, "CredentialAccount")
    assert open_stored(answer.json["header"]).size == (1500, 500)
    small = patch(fedikit_client, api_user, header=upload(image_bytes((600, 200))))
    assert open_stored(small.json["header"]).size == (600, 200)  # never enlarged


def test_animated_avatar_moves_and_has_a_still_frame(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = patch(fedikit_client, api_user, avatar=upload(animated_gif((200, 100)), "moving.gif"))
    assert answer.status_code == 200, answer.text
    moving, still = open_stored(answer.json["avatar"]), open_stored(answer.json["avatar_static"])
    assert (moving.format, moving.size, moving.n_frames) == ("GIF", (400, 400), 3)
    assert (still.format, still.size) == ("PNG", (400, 400))
    validate(answer.json, "CredentialAccount")


def test_images_and_fields_change_together(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = patch(
        fedikit_client,
        api_user,
        display_name="Pictured",
        avatar=upload(image_bytes((64, 64))),
        header=upload(image_bytes((64, 32))),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json["display_name"] == "Pictured"
    assert not answer.json["avatar"].endswith(MISSING) and not answer.json["header"].endswith("missing.png")
    assert len(stored_files()) == 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("avatar", b"plain text, not a picture" * 10),
        ("header", b"plain text, not a picture" * 10),
        ("avatar", b""),
        ("avatar", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100),  # a video is no avatar
    ],
)
def test_what_is_not_an_image_is_refused_and_nothing_changes(
    fedikit_client: FlaskClient, api_user: ApiUser, name: str, data: bytes
) -> None:
    before = profile_keys(api_user.account)
    answer = patch(fedikit_client, api_user, display_name="Changed", **{name: upload(data, "fake.png")})
    assert answer.status_code == 422, answer.text
    assert answer.json["error"]
    assert profile_keys(api_user.account) == before
    assert stored_files() == []


def test_an_image_over_the_limit_is_refused(
    fedikit_client: FlaskClient, api_user: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_service, "PROFILE_IMAGE_LIMIT", 1024)
    before = profile_keys(api_user.account)
    answer = patch(fedikit_client, api_user, avatar=upload(image_bytes((300, 300), "BMP"), "big.bmp"))
    assert answer.status_code == 422, answer.text
    assert "must be less than" in answer.json["error"]
    assert profile_keys(api_user.account) == before and stored_files() == []


def test_a_refused_field_keeps_the_old_images(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    patch(fedikit_client, api_user, avatar=upload(image_bytes((64, 64))))
    before, files = profile_keys(api_user.account), stored_files()
    answer = patch(fedikit_client, api_user, avatar=upload(image_bytes((80, 80))), **{"source[privacy]": "nobody"})
    assert answer.status_code == 422, answer.text
    assert profile_keys(api_user.account) == before and stored_files() == files


def test_replacing_and_removing_images(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    first = patch(fedikit_client, api_user, avatar=upload(image_bytes((64, 64))), header=upload(image_bytes((90, 30))))
    second = patch(fedikit_client, api_user, avatar=upload(image_bytes((64, 64), color="blue")))
    assert second.json["avatar"] != first.json["avatar"] and second.json["header"] == first.json["header"]
    assert len(stored_files()) == 2  # the replaced avatar's file is gone
    removed = fedikit_client.delete("/api/v1/profile/avatar", headers=api_user.headers)
    assert removed.status_code == 200, removed.text
    validate(removed.json, "CredentialAccount")
    assert removed.json["avatar"].endswith(MISSING) and removed.json["avatar_static"].endswith(MISSING)
    assert removed.json["header"] == first.json["header"]
    assert fedikit_client.get(removed.json["avatar"].removeprefix("https://fedikit.test")).status_code == 200
    header_gone = fedikit_client.delete("/api/v1/profile/header", headers=api_user.headers)
    assert header_gone.status_code == 200 and header_gone.json["header"].endswith("/headers/original/missing.png")
    assert stored_files() == []
    again = fedikit_client.delete("/api/v1/profile/header", headers=api_user.headers)  # nothing to remove: fine
    assert again.status_code == 200


# ---------------------------------------------------------------- account notes


def note(client: FlaskClient, who: ApiUser, account_id: Any, comment: Any) -> Any:
    data = {} if comment is None else {"comment": comment}
    return client.post(f"/api/v1/accounts/{account_id}/note", data=data, headers=who.headers)


def stored_notes() -> list[tuple[int, int, str]]:
    db.session.expire_all()
    found = db.session.scalars(select(AccountNote).order_by(AccountNote.id))
    return [(n.account_id, n.target_account_id, n.comment) for n in found]


def test_a_note_shows_in_the_relationship_of_its_writer_only(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    answer = note(fedikit_client, alice, bob.account.id, "met at the conference")
    assert answer.status_code == 200, answer.text
    validate(answer.json, "Relationship")
    assert answer.json["note"] == "met at the conference" and answer.json["id"] == str(bob.account.id)
    query = {"id[]": str(bob.account.id)}
    [mine] = fedikit_client.get("/api/v1/accounts/relationships", query_string=query, headers=alice.headers).json
    [theirs] = fedikit_client.get("/api/v1/accounts/relationships", query_string=query, headers=carol.headers).json
    assert mine["note"] == "met at the conference" and theirs["note"] == ""
    changed = note(fedikit_client, alice, bob.account.id, "changed my mind")
    assert changed.json["note"] == "changed my mind" and len(stored_notes()) == 1


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_comment_removes_the_note(fedikit_client: FlaskClient, make_api_user: MakeApiUser, blank: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    note(fedikit_client, alice, bob.account.id, "something")
    answer = note(fedikit_client, alice, bob.account.id, blank)
    assert answer.status_code == 200 and answer.json["note"] == ""
    assert stored_notes() == []


def test_bad_notes_change_nothing(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    note(fedikit_client, alice, bob.account.id, "kept")
    before = stored_notes()
    too_long = note(fedikit_client, alice, bob.account.id, "x" * 2001)
    assert too_long.status_code == 422, too_long.text
    for unknown in ("123", "nope"):
        answer = note(fedikit_client, alice, unknown, "who?")
        assert answer.status_code == 404 and answer.json == {"error": "Record not found"}
    assert stored_notes() == before
    assert note(fedikit_client, alice, bob.account.id, "y" * 2000).status_code == 200
