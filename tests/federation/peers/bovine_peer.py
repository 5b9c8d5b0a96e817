"""A bovine-herd server used as a federation peer by fedikit's interop tests.

Runs inside its own virtualenv (bovine is not a fedikit dependency), under hypercorn::

    BOVINE_PEER_DB=sqlite:///path/bovine.sqlite3 hypercorn --bind 127.0.0.1:PORT bovine_peer:app

bovine-herd itself serves WebFinger, actors (only to signed GETs), inboxes and
outboxes. This module adds what a test needs to drive it, as plain JSON routes:

- ``GET /_register?name=alice``: a new actor ``@alice@127.0.0.1:PORT``; returns its id.
- ``GET /_follow?actor=alice&target=<actor id>``: alice sends a Follow.
- ``GET /_post?actor=alice&text=...``: alice posts a public Note to her followers.
- ``GET /_received?actor=alice``: what alice's inbox received, each with whether
  bovine processed it without error.

Incoming Follows are accepted at once (herd leaves that to a client), through
herd's own outbox processing, so herd records the follower and signs the Accept.
"""

from __future__ import annotations

import copy
import os
import traceback

from bovine_herd import BovineHerd
from bovine_process import handle_outbox_item, process_outbox_item
from bovine_process.incoming import default_inbox_process
from bovine_store import BovineAdminStore
from quart import Quart, current_app, request

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

app = Quart(__name__)
names: dict[str, str] = {}  # handle name -> bovine name
received: list[dict] = []


async def _actor(handle: str):
    return await current_app.config["bovine_store"].actor_for_name(names[handle])


async def _send(actor, activity: dict) -> dict:
    """Post ``activity`` to ``actor``'s outbox the way herd's outbox endpoint does."""
    item = await handle_outbox_item(_Item(actor.actor_id, activity), actor)
    app.add_background_task(process_outbox_item, item, actor)
    return item.data


def _Item(submitter: str, data: dict):  # noqa: N802 - a constructor
    from bovine_process.types import ProcessingItem

    return ProcessingItem(submitter, data)


async def _inbox_task(item, actor) -> None:
    original = copy.deepcopy(item.data)
    entry = {"recipient": actor.actor_id, "submitter": item.submitter, "json": original, "error": None}
    received.append(entry)
    try:
        await default_inbox_process(item, actor)
    except Exception:
        entry["error"] = traceback.format_exc()
        return
    follow_target = original.get("object")
    if isinstance(follow_target, dict):
        follow_target = follow_target.get("id")
    if original.get("type") == "Follow" and follow_target == actor.actor_id:
        accept = {
            "@context": AS_CONTEXT,
            "type": "Accept",
            "actor": actor.actor_id,
            "object": original,
            "to": [original["actor"]],
        }
        entry["answered"] = await _send(actor, accept)


async def _start_inbox_task(item, actor) -> None:
    app.add_background_task(_inbox_task, item, actor)


BovineHerd(
    app,
    start_background_task_inbox=_start_inbox_task,
    db_url=os.environ.get("BOVINE_PEER_DB", "sqlite://bovine.sqlite3"),
)


@app.get("/_register")
async def register():
    handle = request.args["name"]
    if handle not in names:
        domain = f"{request.scheme}://{request.host}"
        names[handle] = await BovineAdminStore(domain=domain).register(handle)
    actor = await _actor(handle)
    return {"id": actor.actor_id, "bovine_name": names[handle]}


@app.get("/_follow")
async def follow():
    actor = await _actor(request.args["actor"])
    target = request.args["target"]
    activity = {"@context": AS_CONTEXT, "type": "Follow", "actor": actor.actor_id, "object": target, "to": [target]}
    return await _send(actor, activity)


@app.get("/_post")
async def post():
    actor = await _actor(request.args["actor"])
    followers = actor.actor_object.followers
    note = {
        "type": "Note",
        "attributedTo": actor.actor_id,
        "content": request.args["text"],
        "to": [PUBLIC],
        "cc": [followers],
    }
    activity = {
        "@context": AS_CONTEXT,
        "type": "Create",
        "actor": actor.actor_id,
        "object": note,
        "to": [PUBLIC],
        "cc": [followers],
    }
    return await _send(actor, activity)


@app.get("/_received")
async def get_received():
    handle = request.args.get("actor")
    if handle is None:
        return received
    actor = await _actor(handle)
    return [entry for entry in received if entry["recipient"] == actor.actor_id]
