"""``/.well-known/webfinger`` (an account's JRD) and ``/.well-known/host-meta`` (where that is), as Mastodon has them.

Answers and lifetimes are Mastodon's: a found account's JRD is public for
3 days; no ``resource``, or one that is neither an address nor a URL, 400; an
account not found (or not on this instance), 404; a suspended account, 410
Gone; each error has an empty body and is public for 3 minutes. Cross-origin
readers are allowed by core, which answers every ``/.well-known/`` path with
the API's CORS headers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from flask import Blueprint, Response, current_app, request

from fedikit.core.api.serializers.accounts import MISSING_AVATAR
from fedikit.core.api.serializers.common import media_url
from fedikit.core.services.media import IMAGE_FORMATS
from fedikit.plugins.webfinger.resource import InvalidResource, local_account

if TYPE_CHECKING:
    from fedikit.core.models import Account

JRD_TYPE = "application/jrd+json; charset=utf-8"
XRD_TYPE = "application/xrd+xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
ACTIVITY_JSON = "application/activity+json"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
AVATAR = "http://webfinger.net/rel/avatar"
XRD_NAMESPACE = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
DOCUMENT_LIFETIME = 3 * 86400  # seconds; Mastodon's expires_in 3.days
ERROR_LIFETIME = 3 * 60  # Mastodon's expires_in 3.minutes on 400, 404 and 410
# Stored profile images are named by their format's extension (see the media service).
AVATAR_TYPES = {extension: content_type for content_type, extension in IMAGE_FORMATS.values()}

bp = Blueprint("webfinger", __name__)


@bp.get("/.well-known/webfinger")
def webfinger() -> Response:
    try:
        account = local_account(request.args.get("resource", ""))
    except InvalidResource:
        return _empty(400)
    if account is None:
        return _empty(404)
    # Mastodon still answers during a suspension's 30 reversible days and says 410 once the data is gone;
    # core keeps one suspended state, which hides the account everywhere, so it is gone here too.
    if account.suspended_at is not None:
        return _empty(410)
    return _public(Response(json.dumps(jrd(account)), content_type=JRD_TYPE), DOCUMENT_LIFETIME)


@bp.get("/.well-known/host-meta")
@bp.get("/.well-known/host-meta.json")
def host_meta() -> Response:
    template = f"{current_app.config['BASE_URL']}/.well-known/webfinger?resource={{uri}}"
    if _wants_json():
        response = Response(json.dumps({"links": [{"rel": "lrdd", "template": template}]}), content_type=JSON_TYPE)
    else:
        response = Response(xrd(template), content_type=XRD_TYPE)
    response.vary.add("Accept")
    return _public(response, DOCUMENT_LIFETIME)


def jrd(account: Account) -> dict[str, Any]:
    """The JSON Resource Descriptor of a local account."""
    config = current_app.config
    profile = account.url or account.uri
    links = [
        {"rel": PROFILE_PAGE, "type": "text/html", "href": profile},
        {"rel": "self", "type": ACTIVITY_JSON, "href": account.uri},
        {"rel": SUBSCRIBE, "template": f"{config['BASE_URL']}/authorize_interaction?uri={{uri}}"},
    ]
    avatar = _avatar_link(account)
    if avatar is not None:
        links.append(avatar)
    return {
        "subject": f"acct:{account.username}@{config['LOCAL_DOMAIN']}",
        "aliases": list(dict.fromkeys([profile, account.uri])),
        "links": links,
    }


def xrd(template: str) -> str:
    """host-meta as XRD: one ``lrdd`` link template."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<XRD xmlns="{XRD_NAMESPACE}">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )


def _avatar_link(account: Account) -> dict[str, str] | None:
    """Mastodon links an uploaded avatar whose type it knows; the stand-in image is never linked."""
    if not account.avatar_key:
        return None
    content_type = AVATAR_TYPES.get(account.avatar_key.rpartition(".")[2])
    if content_type is None:
        return None
    return {"rel": AVATAR, "type": content_type, "href": media_url(account.avatar_key, MISSING_AVATAR)}


def _wants_json() -> bool:
    """JSON for ``host-meta.json``, ``?format=json`` or an Accept that prefers it; else XRD, Mastodon's default."""
    if request.path.endswith(".json"):
        return True
    if "format" in request.args:
        return request.args["format"] == "json"
    return request.accept_mimetypes.best_match(["application/xrd+xml", "application/json"]) == "application/json"


def _empty(status: int) -> Response:
    return _public(Response(status=status), ERROR_LIFETIME)


def _public(response: Response, max_age: int) -> Response:
    response.headers["Cache-Control"] = f"max-age={max_age}, public"
    return response
