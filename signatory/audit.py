"""The audit log: who did what, when. The detail never holds a signatory's
personal data (an erasure must leave nothing behind); organiser accounts are
named, since who acted is the point of the log."""
from __future__ import annotations

import json

from .extensions import db
from .models import AuditEntry, Letter, Signature, User


def record(
    action: str,
    *,
    user: User | None = None,
    letter: Letter | None = None,
    signature: Signature | None = None,
    actor: str = "",
    **detail,
) -> AuditEntry:
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
