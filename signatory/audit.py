"""The audit log: who did what, when. The detail never holds a signatory's
personal data (an erasure must leave nothing behind); organiser accounts are
named, since who acted is the point of the log.

Operations write their own entry (the caller never does): they take `by`,
the organiser account that acted or, without one, a name for what acted
("cli", "demo", "retention")."""
from __future__ import annotations

import json

from .extensions import db
from .models import AuditEntry, Letter, Signature, User

Actor = User | str


def record(
    action: str,
    *,
    user: User | None = None,
    letter: Letter | None = None,
    signature: Signature | None = None,
    actor: str = "",
    by: Actor | None = None,
    **detail,
) -> AuditEntry:
    if isinstance(by, User):
        user = by
    elif by:
        actor = by
    entry = AuditEntry(
        action=action,
        user_id=user.id if user is not None else None,
        actor=actor or (user.email if user is not None else "system"),
        letter_id=letter.id if letter is not None else (signature.letter_id if signature else None),
        signature_id=signature.id if signature is not None else None,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    db.session.add(entry)
    return entry


def record_operation(action: str, by: Actor | None, **fields) -> AuditEntry | None:
    """The entry of an operation that may run with no one acting: `by` None is
    data set up outside the service (a test's fixtures), and is not logged."""
    if by is None:
        return None
    return record(action, by=by, **fields)
