"""The data model: letters and their text versions, signatures, organisers,
the outbox, compiled documents, answers and the audit log.

Models hold data and small derived properties; the rules that change them live
in the domain modules (signing, moderation, letters, …), which never commit.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .states import (
    BLOCKING_STATUSES,
    DocumentStatus,
    Kind,
    LetterState,
    OutboxStatus,
    ParagraphStatus,
    SignatureStatus,
    Source,
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Naive UTC everywhere in the database: SQLite has no time zones and mixing
# aware and naive values is the classic source of off-by-an-hour bugs.
UTCDateTime = DateTime(timezone=False)

def deadline_passed(deadline: date | None, zone: str, now: datetime | None = None) -> bool:
    """True after 23:59:59 of the deadline day in the letter's time zone."""
    if deadline is None:
        return False
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date() > deadline


def deadline_closes_at(deadline: date | None, zone: str) -> datetime | None:
    """The instant the deadline passes (aware, UTC): the first moment of the
    next day in the letter's time zone, so that `deadline_passed` is
    `now >= deadline_closes_at(…)`. A midnight that a clock change skips
    reads with the offset before the change: the instant of the change."""
    if deadline is None:
        return None
    next_day = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone))
    return next_day.astimezone(timezone.utc)


def derived_status(state: str, deadline: date | None, zone: str, now: datetime | None = None) -> LetterState:
    """Closed is derived from the clock wherever the state is read (DESIGN §3)."""
    if state == LetterState.OPEN and deadline_passed(deadline, zone, now):
        return LetterState.CLOSED
    return LetterState(state)


_blocking = ", ".join(f"'{status.value}'" for status in BLOCKING_STATUSES)


class Letter(db.Model):
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    # Whom the letter is for, e.g. "Aan de leden van het Vlaams Parlement".
    addressee: Mapped[str] = mapped_column(String(300), default="", server_default="")
    organiser: Mapped[str] = mapped_column(String(200), default="")
    place_date: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(500), default="")
    intro: Mapped[str] = mapped_column(Text, default="")  # the call to sign
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    language: Mapped[str] = mapped_column(String(8), default="nl")
    # Decides the collation of names (DESIGN §5): nl-BE or nl-NL.
    locale: Mapped[str] = mapped_column(String(16), default="nl-BE")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    deadline: Mapped[date | None] = mapped_column(Date)
    goal: Mapped[int | None] = mapped_column(Integer)
    # The organiser's logo, PNG or SVG, with its media type; served as an image only.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_mime: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # Stored state; "closed" is also derived from the clock, see `status`.
    state: Mapped[str] = mapped_column(String(16), default=LetterState.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Kept counts: the public page never counts rows (DESIGN §8).
    signature_count: Mapped[int] = mapped_column(Integer, default=0)
    organisation_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change that alters the compiled document.
    data_revision: Mapped[int] = mapped_column(Integer, default=0)
    publication_date: Mapped[date | None] = mapped_column(Date)
    publication_manner: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[LetterVersion]] = relationship(
        back_populates="letter", order_by="LetterVersion.number", cascade="all, delete-orphan"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def deadline_passed(self, now: datetime | None = None) -> bool:
        return deadline_passed(self.deadline, self.timezone, now)

    def status_at(self, now: datetime | None = None) -> LetterState:
        return derived_status(self.state, self.deadline, self.timezone, now)

    @property
    def status(self) -> LetterState:
        return self.status_at()

    @property
    def is_signable(self) -> bool:
        return self.status is LetterState.OPEN

    @property
    def is_public(self) -> bool:
        return self.state != LetterState.DRAFT

    @property
    def is_published(self) -> bool:
        """Published: the list and the document are frozen."""
        return self.state == LetterState.PUBLISHED


class LetterVersion(db.Model):
    """A snapshot of the letter's text; a new one is kept for each edit made
    after the first signature, so that signers can see what changed."""

    __tablename__ = "letter_versions"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    letter: Mapped[Letter] = relationship(back_populates="versions")


class Signature(db.Model):
    __tablename__ = "signatures"
    __table_args__ = (
        # DESIGN §3: one live signature per letter, normalised address and
        # organisation — enforced by the database, not only by a query.
        Index(
            "uq_signatures_live",
            "letter_id",
            "email_key",
            "organisation_key",
            unique=True,
            sqlite_where=text(f"status IN ({_blocking})"),
            postgresql_where=text(f"status IN ({_blocking})"),
        ),
        # The public list: keyset pagination over (sort_key, id).
        Index("ix_signatures_public", "letter_id", "status", "consent_name", "sort_key", "id"),
        Index("ix_signatures_moderation", "letter_id", "paragraph_status", "id"),
        # First signatories are few: found by this index, filtered afterwards.
        Index("ix_signatures_first", "letter_id", "first_signatory", "sort_key", "id"),
        Index("ix_signatures_status", "letter_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    letter_version: Mapped[int] = mapped_column(Integer, default=1)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default=Kind.PERSON)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    # Case-folded organisation ("" for a person): part of the uniqueness key.
    organisation_key: Mapped[str] = mapped_column(String(200), default="")
    function: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str | None] = mapped_column(String(320))  # as typed; never published
    email_key: Mapped[str | None] = mapped_column(String(320))  # normalised, case-folded
    place: Mapped[str] = mapped_column(String(100), default="")
    paragraph: Mapped[str] = mapped_column(Text, default="")
    consent_name: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_paragraph: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_notify: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="nl")
    source: Mapped[str] = mapped_column(String(16), default=Source.ONLINE)
    received_on: Mapped[date | None] = mapped_column(Date)  # paper / e-mailed forms
    status: Mapped[str] = mapped_column(String(16), default=SignatureStatus.UNCONFIRMED)
    status_before_rejection: Mapped[str | None] = mapped_column(String(16))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    paragraph_status: Mapped[str] = mapped_column(String(24), default=ParagraphStatus.NONE)
    paragraph_reason: Mapped[str] = mapped_column(Text, default="")
    paragraph_moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paragraph_moderated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    paragraph_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    line_rule_override: Mapped[str] = mapped_column(Text, default="")
    first_signatory: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Collation key of the displayed name, computed on write (DESIGN §5).
    sort_key: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    letter: Mapped[Letter] = relationship()

    @property
    def is_counted(self) -> bool:
        return self.status == SignatureStatus.CONFIRMED

    @property
    def is_organisation(self) -> bool:
        return self.kind == Kind.ORGANISATION

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored case-folded
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the session id: bumping it logs the user out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class LetterGrant(db.Model):
    """An organiser (non-admin) may manage the letters granted to them."""

    __tablename__ = "letter_grants"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """An e-mail, written in the same transaction as what caused it and
    delivered later by `flask outbox send` (DESIGN §7)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "due_at"),
        # Unique when set: the database refuses to queue the same notice
        # twice. Partial, so that the rows without one (every signing's
        # confirmation) add no entry to it (DESIGN §8).
        Index(
            "uq_outbox_dedup_key", "dedup_key", unique=True,
            sqlite_where=text("dedup_key IS NOT NULL"), postgresql_where=text("dedup_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str | None] = mapped_column(String(120))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(400))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[str] = mapped_column(Text, default="{}")  # JSON of extra headers
    # A message queued on the hot path is rendered at delivery, from this
    # template and JSON context (plus its letter and signature), in `language`.
    template: Mapped[str] = mapped_column(String(64), default="")
    context: Mapped[str] = mapped_column(Text, default="{}")
    language: Mapped[str] = mapped_column(String(8), default="nl")
    # Unique by making (128 random bits each): no index to keep on the hot path.
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def extra_headers(self) -> dict[str, str]:
        return json.loads(self.headers or "{}")


class Document(db.Model):
    """A compiled verrijkte opinie, kept per revision of its data; the
    published one is frozen and served as it was."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("letter_id", "data_revision", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    data_revision: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending → ready | failed; large documents compile outside the request.
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.PENDING)
    # Deferred: pages ask for the SHA-256, only the download reads the bytes.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Answer(db.Model):
    """A response from a recipient, recorded after publication."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    author_name: Mapped[str] = mapped_column(String(200))
    author_function: Mapped[str] = mapped_column(String(200), default="")
    author_affiliation: Mapped[str] = mapped_column(String(200), default="")  # party, institution
    received_on: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    attachment_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_letter", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320), default="")  # who, as text: survives the user
    action: Mapped[str] = mapped_column(String(64))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(Integer)  # no FK: survives erasure
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON, never a signatory's personal data
