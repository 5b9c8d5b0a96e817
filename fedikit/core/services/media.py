"""Media uploads: sniffing, limits, image processing and storage of attachments.

What a client says about a file (its name, its Content-Type) is never used:
the type is found from the bytes (Pillow for images, magic bytes for audio
and video), and storage keys are made here from the attachment's id and a
random name, with the extension of the sniffed type.

Pillow and the blurhash encoder are imported inside the functions that need
them, so an app that never sees an upload never loads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import secrets
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.ids import next_id
from fedikit.core.models import Account, CustomEmoji, MediaAttachment
from fedikit.core.state import current
from fedikit.plugin_api import NotFound

# Mastodon's limits (app/models/media_attachment.rb and concerns/attachmentable.rb).
IMAGE_LIMIT = 16 * 1024 * 1024  # bytes
VIDEO_LIMIT = 99 * 1024 * 1024  # bytes, video and audio
MAX_PIXELS = 33_177_600  # 7680x4320: bigger images are refused
ORIGINAL_PIXELS = 8_294_400  # 3840x2160: bigger originals are scaled down (Mastodon's "original" style)
SMALL_PIXELS = 230_400  # 640x360 worth of pixels, aspect kept (Mastodon's "small" style)
MAX_DESCRIPTION = 1500
BLURHASH_COMPONENTS = (4, 4)
BLURHASH_SIDE = 64  # the pure-Python encoder runs on a copy this small: 4x4 components lose nothing
CHUNK = 64 * 1024
SNIFF_BYTES = 4096
SPOOL_IN_MEMORY = 1024 * 1024  # beyond this, an upload being checked waits in a temporary file

# Pillow format -> (content type, extension). Only these parsers are ever tried on uploaded bytes.
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpeg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
SMALL_FORMAT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
# What uploads may be, as the instance advertises it: the images above and what the sniffer below knows.
SUPPORTED_CONTENT_TYPES = (
    *(content_type for content_type, _ in IMAGE_FORMATS.values()),
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/ogg",
    "audio/mp4",
    "audio/ogg",
    "audio/mpeg",
    "audio/flac",
    "audio/wav",
)
KEPT_INFO = ("icc_profile", "transparency")  # everything else (EXIF, XMP, comments, text chunks) is dropped

FILE_TYPE_ERROR = "File type of uploaded media could not be verified"
UNSET: Any = object()


class TooLarge(ValidationError):
    """More bytes than any upload may have: HTTP 413, what Mastodon's proxy answers (client_max_body_size 99m)."""

    status_code = 413


@dataclasses.dataclass
class Sniffed:
    type: str  # image, video, audio
    content_type: str
    extension: str


@dataclasses.dataclass
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclasses.dataclass
class Preview:
    """The small picture shown before the file: made from an image, or a thumbnail the client sent."""

    rendition: Rendition
    blurhash: str


# ---------------------------------------------------------------- reading and sniffing


def _spool(stream: IO[bytes] | None, limit: int, name: str = "File") -> tuple[IO[bytes], int]:
    """A seekable copy of ``stream``, read in chunks and refused as soon as it passes ``limit``."""
    if stream is None:
        raise ValidationError(f"Validation failed: {name} can't be blank")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned to the caller
    size = 0
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"Validation failed: {name} file size must be less than {_megabytes(limit)}")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    if size == 0:
        spool.close()
        raise ValidationError(f"Validation failed: {name} can't be blank")
    spool.seek(0)
    return spool, size


def _megabytes(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB"


def sniff_audio_video(head: bytes) -> Sniffed | None:
    """Audio and video containers Mastodon accepts, by their magic bytes."""
    if head[4:8] == b"ftyp":  # ISO base media (MP4, M4A, QuickTime)
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return Sniffed("audio", "audio/mp4", "m4a")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", "mov")
        return Sniffed("video", "video/mp4", "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM only (the doctype is in the header), not Matroska
        return Sniffed("video", "video/webm", "webm") if b"webm" in head[:64] else None
    if head.startswith(b"OggS"):
        if b"\x80theora" in head:
            return Sniffed("video", "video/ogg", "ogv")
        return Sniffed("audio", "audio/ogg", "ogg")
    if head.startswith(b"ID3") or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 0x03 == 0x01
    ):  # an ID3 tag, or an MPEG audio layer III frame header
        return Sniffed("audio", "audio/mpeg", "mp3")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac", "flac")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav", "wav")
    return None


@contextlib.contextmanager
def _pillow() -> Iterator[Any]:
    """Pillow with the decompression-bomb guard at our pixel limit; its errors become 422s."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that; the warning becomes an error too (adding
    # the same filter again replaces it). _open_image also checks the size itself, whatever the filters are.
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    try:
        yield Image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(f"Images of more than {MAX_PIXELS} pixels are not supported") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(FILE_TYPE_ERROR) from None


def _open_image(Image: Any, data: IO[bytes]) -> tuple[Any, str]:  # noqa: N803 - the PIL.Image module
    data.seek(0)
    image = Image.open(data, formats=list(IMAGE_FORMATS))
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValidationError(f"{width}x{height} images are not supported")
    return image, image.format


# ---------------------------------------------------------------- image processing


def _fit(width: int, height: int, pixels: int) -> tuple[int, int]:
    """The size with at most ``pixels`` pixels and the same aspect; never larger than the original."""
    if width * height <= pixels:
        return width, height
    scale = math.sqrt(pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _encode(image: Any, pillow_format: str) -> bytes:
    if pillow_format == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    elif pillow_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if pillow_format in ("JPEG", "WEBP") else {}
    image.save(out, format=pillow_format, **options)
    return out.getvalue()


def _has_alpha(image: Any) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _blurhash(image: Any) -> str:
    import blurhash

    tiny = image.convert("RGB")
    tiny.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE))
    width, height = tiny.size
    raw = tiny.tobytes()  # RGB, row by row
    rows = [[raw[i : i + 3] for i in range(y * width * 3, (y + 1) * width * 3, 3)] for y in range(height)]
    x_components, y_components = BLURHASH_COMPONENTS
    return blurhash.encode(rows, components_x=x_components, components_y=y_components)


def _preview(Image: Any, image: Any, pillow_format: str) -> Preview:  # noqa: N803
    """The "small" rendition of an already oriented image (the first frame of an animation) and its blurhash."""
    if getattr(image, "is_animated", False):
        image.seek(0)
    frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    size = _fit(*frame.size, SMALL_PIXELS)
    if size != frame.size:
        frame = frame.resize(size, Image.Resampling.LANCZOS)
    small_format = SMALL_FORMAT[pillow_format]
    content_type, extension = IMAGE_FORMATS[small_format]
    data = _encode(frame, small_format)
    return Preview(Rendition(data, content_type, extension, *frame.size), _blurhash(frame))


def process_image(data: IO[bytes], size: int) -> tuple[Sniffed, Rendition, Preview]:
    """Check and re-encode an uploaded image: orientation applied, metadata gone, and its preview."""
    from PIL import ImageOps

    with _pillow() as Image:
        image, pillow_format = _open_image(Image, data)
        content_type, extension = IMAGE_FORMATS[pillow_format]
        if size > IMAGE_LIMIT:
            raise ValidationError(f"Validation failed: File file size must be less than {_megabytes(IMAGE_LIMIT)}")
        if getattr(image, "is_animated", False):
            # Mastodon turns animated GIFs into MP4 ("gifv"); without a video encoder we keep an
            # animation (GIF, APNG, animated WebP) as the uploaded bytes, of type "image". Pillow has
            # checked its format and size; metadata blocks inside an animation are not removed.
            image.load()
            data.seek(0)
            original = Rendition(data.read(), content_type, extension, *image.size)
            preview = _preview(Image, image, pillow_format)
        else:
            image.load()
            oriented = ImageOps.exif_transpose(image)  # a copy, with the EXIF orientation applied
            target = _fit(*oriented.size, ORIGINAL_PIXELS)
            if target != oriented.size:
                oriented = oriented.resize(target, Image.Resampling.LANCZOS)
            original = Rendition(_encode(oriented, pillow_format), content_type, extension, *oriented.size)
            preview = _preview(Image, oriented, pillow_format)
    return Sniffed("image", content_type, extension), original, preview


def process_thumbnail(stream: IO[bytes] | None) -> Preview:
    """A client's own thumbnail (for any media type): an image, made into a "small" rendition."""
    from PIL import ImageOps

    data, _size = _spool(stream, IMAGE_LIMIT, "Thumbnail")
    with data, _pillow() as Image:
        image, pillow_format = _open_image(Image, data)
        image.load()
        if not getattr(image, "is_animated", False):
            image = ImageOps.exif_transpose(image)
        return _preview(Image, image, pillow_format)


def _meta_size(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


# ---------------------------------------------------------------- parameters


def _description(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_DESCRIPTION:
        raise ValidationError(f"Validation failed: Description is too long (maximum is {MAX_DESCRIPTION} characters)")
    return value or None


def parse_focus(value: str | None) -> dict[str, float] | None:
    """``"x,y"`` with both in [-1, 1] (Mastodon's focal point); empty means none."""
    if value is None or not value.strip():
        return None
    parts = value.split(",")
    try:
        x, y = (float(part) for part in parts)
    except ValueError:
        raise ValidationError("Validation failed: Focus must be two numbers, x,y") from None
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise ValidationError("Validation failed: Focus coordinates must be between -1.0 and 1.0")
    return {"x": x, "y": y}


# ---------------------------------------------------------------- keys and storage


def _partition(media_id: int) -> str:
    digits = f"{media_id:09d}"
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    return "/".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def _key(kind: str, media_id: int, style: str, extension: str) -> str:
    """``media_attachments/<kind>/<id in 3-digit groups>/<style>/<random>.<ext>``: nothing from the client."""
    return f"media_attachments/{kind}/{_partition(media_id)}/{style}/{secrets.token_hex(8)}.{extension}"


class _Stored:
    """Files put in the store during one change, removed again if the change does not complete."""

    def __init__(self) -> None:
        self.store = current().media
        self.keys: list[str] = []

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> str:
        self.keys.append(key)
        self.store.put(key, data, content_type)
        return key

    def undo(self) -> None:
        for key in self.keys:
            with contextlib.suppress(Exception):
                self.store.delete(key)


@contextlib.contextmanager
def _committing() -> Iterator[_Stored]:
    """Files put in the store and the session's changes, kept together: the block's changes are committed
    at its end; if anything fails, the transaction rolls back and the new files are removed again."""
    stored = _Stored()
    try:
        yield stored
        db.session.commit()
    except BaseException:
        db.session.rollback()
        stored.undo()
        raise


def _delete_files(*keys: str | None) -> None:
    """Remove stored files; a file already gone is no error."""
    store = current().media
    for key in keys:
        if key:
            with contextlib.suppress(Exception):
                store.delete(key)


_RELEASED = "fedikit.released_files"


def delete_after_commit(*keys: str | None) -> None:
    """Remove these stored files once the session's transaction commits (rows stop naming them in it); if it
    rolls back, they stay."""
    db.session().info.setdefault(_RELEASED, []).extend(key for key in keys if key)


@event.listens_for(Session, "after_commit")
def _delete_released(session: Session) -> None:
    released = session.info.pop(_RELEASED, None)
    if released:
        _delete_files(*released)


@event.listens_for(Session, "after_rollback")
def _keep_released(session: Session) -> None:
    session.info.pop(_RELEASED, None)


# ---------------------------------------------------------------- services


def upload(
    account: Account,
    stream: IO[bytes] | None,
    *,
    description: str | None = None,
    focus: str | None = None,
    thumbnail: IO[bytes] | None = None,
) -> MediaAttachment:
    """A new unattached media attachment of ``account`` from the uploaded bytes in ``stream``."""
    description = _description(description)
    focal_point = parse_focus(focus)
    data, size = _spool(stream, VIDEO_LIMIT)
    media = MediaAttachment(id=next_id(), account_id=account.id, description=description, meta={})
    if focal_point is not None:
        media.meta["focus"] = focal_point
    with data:
        _process_into(media, data, size, thumbnail)
    return media


def _process_into(media: MediaAttachment, data: IO[bytes], size: int, thumbnail: IO[bytes] | None = None) -> None:
    """Check ``data`` by its content (never its name), store it (images re-encoded, metadata dropped) under
    names made from ``media.id``, fill ``media`` in and commit it; on any failure nothing is kept."""
    data.seek(0)
    sniffed = sniff_audio_video(data.read(SNIFF_BYTES))
    original: Rendition | None = None
    if sniffed is None:
        sniffed, original, preview = process_image(data, size)
    else:
        preview = None  # no video decoder: no frame grab, the client's thumbnail only
    if thumbnail is not None:
        preview = process_thumbnail(thumbnail)
    custom_thumbnail = thumbnail is not None

    meta = dict(media.meta or {})
    if original is not None:
        meta["original"] = _meta_size(original.width, original.height)
    if preview is not None:
        meta["small"] = _meta_size(preview.rendition.width, preview.rendition.height)

    with _committing() as stored:
        if original is not None:
            file_key = stored.put(
                _key("files", media.id, "original", original.extension), original.data, original.content_type
            )
            file_size = len(original.data)
        else:
            data.seek(0)
            file_key = stored.put(_key("files", media.id, "original", sniffed.extension), data, sniffed.content_type)
            file_size = size
        thumbnail_key = None
        if preview is not None:
            kind, style = ("thumbnails", "original") if custom_thumbnail else ("files", "small")
            rendition = preview.rendition
            thumbnail_key = stored.put(
                _key(kind, media.id, style, rendition.extension), rendition.data, rendition.content_type
            )
        media.type = sniffed.type
        media.file_key = file_key
        media.thumbnail_key = thumbnail_key
        media.content_type = sniffed.content_type
        media.file_size = file_size
        media.blurhash = preview.blurhash if preview is not None else media.blurhash
        media.meta = meta
        media.processing = "complete"
        db.session.add(media)


def cache_remote(media: MediaAttachment, body: bytes) -> None:
    """Keep a copy of a remote attachment's file (``body``, fetched from its ``remote_url``) as our own.

    The bytes are checked and processed as an upload is: a file that is not a
    supported image, video or audio is a ValidationError and the attachment
    stays a link to its remote URL. The remote description, focal point and
    URL are kept.
    """
    if media.file_key:
        return
    limit = IMAGE_LIMIT if media.type == "image" else VIDEO_LIMIT
    if len(body) > limit:
        raise TooLarge(f"File size must be less than {_megabytes(limit)}")
    _process_into(media, io.BytesIO(body), len(body))


def find_own_unattached(account: Account, media_id: int | None) -> MediaAttachment:
    """The caller's media not yet attached to a status; Mastodon's 404 for anything else."""
    media = None
    if media_id is not None:
        media = db.session.scalar(
            select(MediaAttachment).where(
                MediaAttachment.id == media_id,
                MediaAttachment.account_id == account.id,
                MediaAttachment.status_id.is_(None),
            )
        )
    if media is None:
        raise NotFound("Record not found")
    return media


def update(
    account: Account,
    media: MediaAttachment,
    *,
    description: str | None = UNSET,
    focus: str | None = UNSET,
    thumbnail: IO[bytes] | None = None,
) -> MediaAttachment:
    """Change the description, focal point or thumbnail of ``account``'s unattached ``media``."""
    if media.account_id != account.id or media.status_id is not None:
        raise NotFound("Record not found")
    new_description = _description(description) if description is not UNSET else UNSET
    focal_point = parse_focus(focus) if focus is not UNSET else UNSET
    preview = process_thumbnail(thumbnail) if thumbnail is not None else None

    meta = dict(media.meta or {})
    if focal_point is not UNSET:
        if focal_point is None:
            meta.pop("focus", None)
        else:
            meta["focus"] = focal_point
    with _committing() as stored:
        if preview is not None:
            delete_after_commit(media.thumbnail_key)
            rendition = preview.rendition
            media.thumbnail_key = stored.put(
                _key("thumbnails", media.id, "original", rendition.extension), rendition.data, rendition.content_type
            )
            media.blurhash = preview.blurhash
            meta["small"] = _meta_size(rendition.width, rendition.height)
        if new_description is not UNSET:
            media.description = new_description
        media.meta = meta
    return media


def delete(account: Account, media_id: int | None) -> None:
    """Remove the caller's media that no status uses (Mastodon 4.4's DELETE /api/v1/media/:id)."""
    media = None
    if media_id is not None:
        media = db.session.scalar(
            select(MediaAttachment).where(MediaAttachment.id == media_id, MediaAttachment.account_id == account.id)
        )
    if media is None:
        raise NotFound("Record not found")
    if media.status_id is not None:
        raise ValidationError("Media attachment is currently used by a status")
    delete_after_commit(media.file_key, media.thumbnail_key)
    db.session.delete(media)
    db.session.commit()


# ---------------------------------------------------------------- profile images: avatar and header

# Mastodon's Account::Avatar and Account::Header: an avatar fills 400x400 (cropped to fit, Paperclip's
# "400x400#"); a header keeps its aspect and is scaled down to at most 1500x500 pixels' worth.
PROFILE_IMAGE_LIMIT = 8 * 1024 * 1024  # bytes
AVATAR_SIZE = (400, 400)
HEADER_PIXELS = 1500 * 500
PROFILE_IMAGES = ("avatar", "header")


@dataclasses.dataclass
class ProfileImage:
    """An avatar or header ready to store: the image as shown, and a still first frame when it moves."""

    original: Rendition
    static: Rendition | None


def process_profile_image(kind: str, stream: IO[bytes] | None) -> ProfileImage:
    """Check and re-encode an uploaded avatar or header (``kind``): sized as Mastodon sizes it, metadata gone.

    Only JPEG, PNG, GIF and WebP images up to :data:`PROFILE_IMAGE_LIMIT` bytes;
    anything else is a ValidationError (422, as Mastodon validates them).
    """
    from PIL import ImageOps, ImageSequence

    if kind not in PROFILE_IMAGES:
        raise ValueError(f"unknown profile image {kind!r}")
    name = kind.capitalize()
    try:
        data, _size = _spool(stream, PROFILE_IMAGE_LIMIT, name)
    except TooLarge as exc:  # a validation in Mastodon (422), not the proxy's body limit (413)
        raise ValidationError(str(exc)) from None
    with data, _pillow() as Image:
        image, pillow_format = _open_image(Image, data)
        content_type, extension = IMAGE_FORMATS[pillow_format]

        def shaped(frame: Any) -> Any:
            if frame.mode not in ("RGB", "RGBA", "L", "LA"):
                frame = frame.convert("RGBA" if _has_alpha(frame) else "RGB")
            if kind == "avatar":
                return ImageOps.fit(frame, AVATAR_SIZE, Image.Resampling.LANCZOS)
            size = _fit(*frame.size, HEADER_PIXELS)
            return frame.resize(size, Image.Resampling.LANCZOS) if size != frame.size else frame

        if not getattr(image, "is_animated", False):
            image.load()
            still = shaped(ImageOps.exif_transpose(image))
            return ProfileImage(Rendition(_encode(still, pillow_format), content_type, extension, *still.size), None)
        width, height = image.size
        if image.n_frames * width * height > MAX_PIXELS:  # every frame is decoded: bound the work
            raise ValidationError(f"Animations of more than {MAX_PIXELS} pixels in all are not supported")
        frames, durations = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(frame.info.get("duration", 100))
            frames.append(shaped(frame.convert("RGBA")))
        out = io.BytesIO()
        frames[0].save(
            out,
            format=pillow_format,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=image.info.get("loop", 0),
        )
        size = frames[0].size
        png_type, png_extension = IMAGE_FORMATS["PNG"]
        return ProfileImage(
            Rendition(out.getvalue(), content_type, extension, *size),
            Rendition(_encode(frames[0], "PNG"), png_type, png_extension, *size),
        )


def unset_profile_images(account: Account, kinds: Iterable[str]) -> None:
    """Stop using ``account``'s stored ``kinds`` (avatar, header): their files go when the change commits."""
    for kind in kinds:
        for column in (f"{kind}_key", f"{kind}_static_key"):
            delete_after_commit(getattr(account, column))
            setattr(account, column, None)


EMOJI_LIMIT = 256 * 1024  # Mastodon's CustomEmoji::LIMIT


def process_emoji_image(body: bytes) -> ProfileImage:
    """Check a custom emoji's image: a JPEG, PNG, GIF or WebP of at most :data:`EMOJI_LIMIT` bytes. It is kept
    as it is (animations play), with a still PNG of its first frame (``static_url``), as Mastodon keeps them.
    Anything else is a ValidationError."""
    if len(body) > EMOJI_LIMIT:
        raise ValidationError(f"Emoji images must be less than {EMOJI_LIMIT // 1024} KB")
    with _pillow() as Image:
        image, pillow_format = _open_image(Image, io.BytesIO(body))
        width, height = image.size
        if getattr(image, "n_frames", 1) * width * height > MAX_PIXELS:
            raise ValidationError(f"Animations of more than {MAX_PIXELS} pixels in all are not supported")
        image.seek(0)
        first = image.convert("RGBA")
        content_type, extension = IMAGE_FORMATS[pillow_format]
        png_type, png_extension = IMAGE_FORMATS["PNG"]
        return ProfileImage(
            Rendition(body, content_type, extension, width, height),
            Rendition(_encode(first, "PNG"), png_type, png_extension, width, height),
        )


def save_emoji_image(emoji: CustomEmoji, image: ProfileImage) -> None:
    """Store ``emoji``'s image and its still frame under names of ours, then commit (files removed again if
    that fails; the ones replaced once it succeeded)."""
    with _committing() as stored:
        delete_after_commit(emoji.image_key, emoji.image_static_key)
        folder = f"custom_emojis/images/{_partition(emoji.id)}"
        original = image.original
        emoji.image_key = stored.put(
            f"{folder}/original/{secrets.token_hex(8)}.{original.extension}", original.data, original.content_type
        )
        if image.static is not None:
            still = image.static
            emoji.image_static_key = stored.put(
                f"{folder}/static/{secrets.token_hex(8)}.{still.extension}", still.data, still.content_type
            )


def _profile_key(kind: str, account_id: int, style: str, extension: str) -> str:
    """``accounts/<avatars|headers>/<id in 3-digit groups>/<style>/<random>.<ext>``, as Mastodon lays them out."""
    return f"accounts/{kind}s/{_partition(account_id)}/{style}/{secrets.token_hex(8)}.{extension}"


def save_profile_images(account: Account, images: dict[str, ProfileImage | None]) -> None:
    """Store ``account``'s new avatar and/or header (None removes it), then commit the session.

    If storing or the commit fails, the new files are removed again; once it
    succeeded, the replaced files are.
    """
    with _committing() as stored:
        for kind, image in images.items():
            delete_after_commit(getattr(account, f"{kind}_key"), getattr(account, f"{kind}_static_key"))
            key = static_key = None
            if image is not None:
                original = image.original
                key = stored.put(
                    _profile_key(kind, account.id, "original", original.extension), original.data, original.content_type
                )
                if image.static is not None:
                    still = image.static
                    static_key = stored.put(
                        _profile_key(kind, account.id, "static", still.extension), still.data, still.content_type
                    )
            setattr(account, f"{kind}_key", key)
            setattr(account, f"{kind}_static_key", static_key)
