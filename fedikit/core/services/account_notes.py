"""Private notes on accounts: what someone wrote about another account, for their eyes only."""

from __future__ import annotations

from sqlalchemy import delete, select

from fedikit.core.db import commit_unless_duplicate, db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, AccountNote
from fedikit.plugin_api import NotFound

MAX_COMMENT = 2000  # Mastodon's AccountNote::COMMENT_SIZE_LIMIT


def set_note(account: Account, target: Account, comment: str | None) -> None:
    """``account``'s note on ``target`` becomes ``comment``; a blank comment removes the note."""
    if comment is None or not comment.strip():
        db.session.execute(
            delete(AccountNote).where(AccountNote.account_id == account.id, AccountNote.target_account_id == target.id)
        )
        db.session.commit()
        return
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)")
    for _attempt in range(2):  # a concurrent first note on the same account wins the insert: update that one
        note = db.session.scalar(
            select(AccountNote).where(AccountNote.account_id == account.id, AccountNote.target_account_id == target.id)
        )
        if note is None:
            db.session.add(AccountNote(account_id=account.id, target_account_id=target.id, comment=comment))
        elif note.comment != comment:
            note.comment = comment
        if commit_unless_duplicate():
            return
    raise NotFound("Record not found")  # still refused: the account went away meanwhile
