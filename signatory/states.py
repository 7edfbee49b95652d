"""States as enums, and the named sets of states the rules speak of."""
from enum import StrEnum


class LetterState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class SignatureStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    ERASED = "erased"


class ParagraphStatus(StrEnum):
    NONE = "none"  # no paragraph written
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVISION_REQUESTED = "revision_requested"


class Kind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Source(StrEnum):
    ONLINE = "online"
    PAPER = "paper"
    EMAIL = "email"


class DocumentStatus(StrEnum):
    PENDING = "pending"  # being compiled (a large letter: outside the request)
    READY = "ready"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# A live signature blocks another one for the same letter, address and
# organisation; a rejected one blocks it too (DESIGN §3: "a rejected one may
# not" sign again). The partial unique index in the schema uses this set.
BLOCKING_STATUSES = (
    SignatureStatus.UNCONFIRMED,
    SignatureStatus.CONFIRMED,
    SignatureStatus.REJECTED,
)
LIVE_STATUSES = (SignatureStatus.UNCONFIRMED, SignatureStatus.CONFIRMED)
PUBLIC_LETTER_STATES = (LetterState.OPEN, LetterState.CLOSED, LetterState.PUBLISHED)
# Opened and not yet published: forms still come in (online until the
# deadline, on paper after it) and the letter may be published.
OPEN_OR_CLOSED = (LetterState.OPEN, LetterState.CLOSED)
