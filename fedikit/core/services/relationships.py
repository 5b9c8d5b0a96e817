"""Follows, follow requests, blocks and mutes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select

from fedikit.core.db import commit_unless_duplicate, db, utcnow
from fedikit.core.errors import Forbidden, NotFound, ValidationError
from fedikit.core.models import Account, Block, Follow, FollowRequest, Mute
from fedikit.core.services import timelines
from fedikit.core.services.notifications import notify
from fedikit.core.state import current


def _pair(model: type, account: Account, target: Account):  # noqa: ANN202
    return db.session.scalar(select(model).where(model.account_id == account.id, model.target_account_id == target.id))


def _blocked_either_way(a: Account, b: Account) -> bool:
    return _pair(Block, a, b) is not None or _pair(Block, b, a) is not None


def _count_follow(follower: Account, target: Account, delta: int) -> None:
    follower.following_count = Account.following_count + delta
    target.followers_count = Account.followers_count + delta


def follow(
    account: Account, target: Account, *, reblogs: bool = True, notify_posts: bool = False, uri: str | None = None
) -> Follow | FollowRequest:
    """Follow ``target``: at once if it is an unlocked local account, else as a request.

    Remote accounts always start as a request; their server's Accept (through
    a protocol plugin calling :func:`authorize`) turns it into a follow.
    Following again only updates the options. ``uri`` is the protocol id of
    a remote account's follow, kept so the answer can name it.
    """
    if account.id == target.id:
        raise NotFound("Record not found")  # as Mastodon answers
    if _blocked_either_way(account, target):
        raise Forbidden("This action is not allowed")
    existing = _pair(Follow, account, target) or _pair(FollowRequest, account, target)
    if existing is not None:
        existing.show_reblogs = reblogs
        existing.notify = notify_posts
        existing.uri = uri or existing.uri
        db.session.commit()
        return existing
    state = current()
    if target.locked or not target.local:
        request = FollowRequest(
            account_id=account.id, target_account_id=target.id, show_reblogs=reblogs, notify=notify_posts, uri=uri
        )
        db.session.add(request)
        notify(target, "follow_request", account)
        if not commit_unless_duplicate():
            return _pair(FollowRequest, account, target)
        state.emit("follow_requested", follower=account, target=target)
        return request
    relation = Follow(
        account_id=account.id, target_account_id=target.id, show_reblogs=reblogs, notify=notify_posts, uri=uri
    )
    db.session.add(relation)
    _count_follow(account, target, +1)
    notify(target, "follow", account)
    if not commit_unless_duplicate():
        return _pair(Follow, account, target)
    timelines.after_follow(account, target)
    state.emit("follow_accepted", follower=account, target=target)
    return relation


def authorize(target: Account, follower: Account) -> Follow:
    """Turn ``follower``'s pending request to ``target`` into a follow."""
    request = _pair(FollowRequest, follower, target)
    if request is None:
        raise ValidationError("No follow request from that account")
    relation = Follow(
        account_id=follower.id,
        target_account_id=target.id,
        show_reblogs=request.show_reblogs,
        notify=request.notify,
        uri=request.uri,
    )
    db.session.delete(request)
    db.session.add(relation)
    _count_follow(follower, target, +1)
    db.session.commit()
    timelines.after_follow(follower, target)
    current().emit("follow_accepted", follower=follower, target=target)
    return relation


def reject(target: Account, follower: Account) -> None:
    request = _pair(FollowRequest, follower, target)
    if request is None:
        raise ValidationError("No follow request from that account")
    db.session.delete(request)
    db.session.commit()
    current().emit("follow_rejected", follower=follower, target=target)


def unfollow(account: Account, target: Account) -> bool:
    """Stop following, or withdraw a pending request. False when there was neither."""
    relation = _pair(Follow, account, target)
    request = _pair(FollowRequest, account, target)
    if relation is None and request is None:
        return False
    if relation is not None:
        db.session.delete(relation)
        _count_follow(account, target, -1)
    if request is not None:
        db.session.delete(request)
    db.session.commit()
    if relation is not None:
        timelines.after_unfollow(account, target)
    current().emit("unfollowed", follower=account, target=target)
    return True


def block(account: Account, target: Account) -> Block | None:
    """Block ``target``: follows and requests in both directions end. Blocking oneself does nothing."""
    if account.id == target.id:
        return None
    existing = _pair(Block, account, target)
    if existing is not None:
        return existing
    ended = []
    for follower, followed in ((account, target), (target, account)):
        if _pair(Follow, follower, followed) is not None:
            _count_follow(follower, followed, -1)
            ended.append((follower, followed))
    for model in (Follow, FollowRequest):
        db.session.execute(
            delete(model).where(
                or_(
                    (model.account_id == account.id) & (model.target_account_id == target.id),
                    (model.account_id == target.id) & (model.target_account_id == account.id),
                )
            )
        )
    relation = Block(account_id=account.id, target_account_id=target.id)
    db.session.add(relation)
    if not commit_unless_duplicate():
        return _pair(Block, account, target)
    for follower, followed in ended:
        timelines.after_unfollow(follower, followed)
    current().emit("blocked", account=account, target=target)
    return relation


def unblock(account: Account, target: Account) -> bool:
    relation = _pair(Block, account, target)
    if relation is None:
        return False
    db.session.delete(relation)
    db.session.commit()
    current().emit("unblocked", account=account, target=target)
    return True


def mute(account: Account, target: Account, *, notifications: bool = True, duration: int = 0) -> Mute | None:
    """Mute ``target``; ``duration`` in seconds, 0 for ever. Muting again updates the options.

    Muting oneself does nothing, as in Mastodon.
    """
    if account.id == target.id:
        return None
    expires_at = utcnow() + dt.timedelta(seconds=duration) if duration > 0 else None
    relation = _pair(Mute, account, target)
    if relation is None:
        relation = Mute(account_id=account.id, target_account_id=target.id)
        db.session.add(relation)
    relation.hide_notifications = notifications
    relation.expires_at = expires_at
    db.session.commit()
    current().emit("muted", account=account, target=target)
    return relation


def unmute(account: Account, target: Account) -> bool:
    relation = _pair(Mute, account, target)
    if relation is None:
        return False
    db.session.delete(relation)
    db.session.commit()
    current().emit("unmuted", account=account, target=target)
    return True
