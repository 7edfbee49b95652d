"""Letters: import, life cycle, kept counts and the public summary.

Domain functions change data, write their audit entry and flush; the caller
(request or command) commits once. `by` is the organiser account that acted,
or what acted without one ("cli", "demo"); None only for data set up outside
the service (test fixtures), which is not audited.
"""
from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, fields
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from . import audit
from .extensions import db
from .models import Letter, LetterVersion, Signature, User, deadline_closes_at, derived_status, utcnow
from .refusals import Refusal
from .states import PUBLIC_LETTER_STATES, LetterState

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
LANGUAGE_LOCALES = {"nl": "nl-BE", "nl-be": "nl-BE", "nl-nl": "nl-NL", "en": "nl-BE"}


class LetterError(Refusal):
    """A letter cannot be created or changed as asked; the message says why."""


@dataclass
class LetterSettings:
    """What a letter's settings hold (`letter_settings`): whom it addresses,
    who sends it, how to reach them, until when and how many. They change the
    public page and the document, never the text."""

    addressee: str = ""
    organiser: str = ""
    place_date: str = ""
    contact: str = ""
    deadline: date | None = None
    timezone: str = "Europe/Brussels"
    goal: int | None = None

    @classmethod
    def of(cls, letter: Letter) -> LetterSettings:
        return cls(**{field.name: getattr(letter, field.name) for field in fields(cls)})


SETTINGS_FIELDS = tuple(field.name for field in fields(LetterSettings))


@dataclass(kw_only=True)
class LetterSource(LetterSettings):
    """A letter's fields as read from the organiser's file (see `letter_files`):
    its text, and the settings its front matter gives."""

    title: str
    body: str
    subtitle: str = ""
    intro: str = ""
    language: str = "nl"
    locale: str = "nl-BE"


def parse_letter_source(text: str, *, title: str | None = None) -> LetterSource:
    """A letter from Markdown, with or without front matter, as the reader
    of letter files suggests it (see `letter_files`)."""
    from .letter_files import read_letter_file

    return read_letter_file("letter.md", text.encode("utf-8"), title=title).source()


def parse_deadline(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise LetterError(_l("De deadline is een datum als JJJJ-MM-DD, niet %(value)s.", value=repr(value))) from None


MAX_GOAL = 100_000_000


def parse_goal(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        goal = int(value)
    except (TypeError, ValueError):
        raise LetterError(_l("Het doel is een geheel getal, niet %(value)s.", value=repr(value))) from None
    if not 0 < goal <= MAX_GOAL:
        raise LetterError(_l("Het doel ligt tussen 1 en 100.000.000."))
    return goal


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LetterError(_l("Onbekende tijdzone: %(name)s.", name=repr(name))) from None
    return name


def validate_slug(slug: str) -> str:
    if not SLUG_PATTERN.match(slug or ""):
        raise LetterError(
            _l("Een korte naam (slug) heeft 1 tot 80 kleine letters, cijfers en koppeltekens, bv. 'integratie-2011'."),
            "slug",
        )
    return slug


def get_letter(slug: str) -> Letter | None:
    if not SLUG_PATTERN.match(slug or ""):
        return None  # never hand the database a NUL or a megabyte of slug
    return db.session.scalar(select(Letter).where(Letter.slug == slug))


@dataclass(frozen=True)
class SigningTarget:
    """What the signing path needs of a letter, read with one small query
    instead of a whole Letter (the hot path of DESIGN §8)."""

    id: int
    slug: str
    state: str
    deadline: date | None
    timezone: str
    version: int
    locale: str
    # When the deadline passes, as a POSIX time, worked out once per
    # snapshot: the signing path then only reads the clock.
    closes_at: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        closes_at = deadline_closes_at(self.deadline, self.timezone)
        object.__setattr__(self, "closes_at", closes_at.timestamp() if closes_at else math.inf)

    @property
    def is_signable(self) -> bool:
        """`derived_status(…) == OPEN`, without a time zone conversion."""
        return self.state == LetterState.OPEN and time.time() < self.closes_at


_letters = Letter.__table__.c
_SIGNING_TARGET = select(
    _letters.id, _letters.slug, _letters.state, _letters.deadline, _letters.timezone, _letters.version, _letters.locale
).where(_letters.slug == bindparam("slug"), _letters.state != LetterState.DRAFT.value)


def signing_target(slug: str) -> SigningTarget | None:
    if not SLUG_PATTERN.match(slug or ""):
        return None
    row = db.session.connection().execute(_SIGNING_TARGET, {"slug": slug}).first()
    return SigningTarget(*row) if row is not None else None


@dataclass(frozen=True)
class LetterSnapshot:
    """What decides the bytes of a letter's public page, read with one small
    query: its text version, state (with the clock's closing), counts, and
    the revision and time stamp that every other change of it moves."""

    id: int
    version: int
    state: str
    deadline: date | None
    timezone: str
    signature_count: int
    organisation_count: int
    data_revision: int
    updated_at: object

    def page_key(self, language: str) -> tuple | None:
        """None for a published letter: its answers and its compiled document
        change without touching the letter's row, so it is rendered each time
        (a cache in front still keeps it for PUBLIC_CACHE_SECONDS)."""
        status = derived_status(self.state, self.deadline, self.timezone)
        if status == LetterState.PUBLISHED:
            return None
        return (self.id, self.version, language, status.value, self.signature_count,
                self.organisation_count, self.data_revision, self.updated_at)


_LETTER_SNAPSHOT = select(
    _letters.id, _letters.version, _letters.state, _letters.deadline, _letters.timezone,
    _letters.signature_count, _letters.organisation_count, _letters.data_revision, _letters.updated_at,
).where(_letters.slug == bindparam("slug"), _letters.state != LetterState.DRAFT.value)


def letter_snapshot(slug: str) -> LetterSnapshot | None:
    """A public letter's snapshot, or None (no such letter, or a draft)."""
    if not SLUG_PATTERN.match(slug or ""):
        return None
    row = db.session.connection().execute(_LETTER_SNAPSHOT, {"slug": slug}).first()
    return LetterSnapshot(*row) if row is not None else None


class LetterMemo:
    """What was read of a letter in the last moment, per process: a crowd of
    readers (or signers) of one letter costs one query per `fresh_for`
    seconds instead of one per request. A commit in this process that
    changed a letter (its row through the ORM or an UPDATE: a count, a state,
    a text) forgets everything at once; other processes' changes are seen
    within `fresh_for`."""

    def __init__(self, read):
        self.read = read
        self.entries: dict[str, tuple[object, float, int]] = {}

    def peek(self, slug: str, fresh_for: float) -> tuple[object, float] | None:
        """(value, age) when one was read less than `fresh_for` seconds ago
        and nothing changed since; None otherwise. Never reads."""
        entry = self.entries.get(slug)
        if entry is None or entry[2] != letter_changes.count:
            return None
        age = time.monotonic() - entry[1]
        return (entry[0], age) if age < fresh_for else None

    def get(self, slug: str, fresh_for: float) -> tuple[object, float]:
        """(what `read(slug)` gave, its age in seconds)."""
        now = time.monotonic()
        entry = self.entries.get(slug)
        if entry is not None and entry[2] == letter_changes.count and now - entry[1] < fresh_for:
            return entry[0], now - entry[1]
        value = self.read(slug)
        if fresh_for > 0:
            if len(self.entries) > 1000:
                self.entries.clear()
            self.entries[slug] = (value, now, letter_changes.count)
        return value, 0.0


class LetterChanges:
    """Counts the commits in this process that changed a letter."""

    count = 0

    @staticmethod
    def note_flush(session, _context) -> None:
        if any(isinstance(item, Letter) for item in (*session.new, *session.dirty, *session.deleted)):
            session.info["letter_changed"] = True

    @staticmethod
    def note_statement(state) -> None:
        if (state.is_update or state.is_delete) and getattr(getattr(state.statement, "table", None), "name", "") == "letters":
            state.session.info["letter_changed"] = True

    @classmethod
    def after_commit(cls, session) -> None:
        if session.info.pop("letter_changed", False):
            cls.count += 1

    @staticmethod
    def after_rollback(session) -> None:
        session.info.pop("letter_changed", None)


letter_changes = LetterChanges
event.listen(Session, "after_flush", LetterChanges.note_flush)
event.listen(Session, "do_orm_execute", LetterChanges.note_statement)
event.listen(Session, "after_commit", LetterChanges.after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _previous: LetterChanges.after_rollback(session))


snapshots = LetterMemo(letter_snapshot)


def public_letter_or_404(slug: str) -> Letter:
    letter = get_letter(slug)
    if letter is None or letter.state == LetterState.DRAFT:
        abort(404)
    return letter


def public_letters() -> list[Letter]:
    return list(
        db.session.scalars(
            select(Letter).where(Letter.state.in_(PUBLIC_LETTER_STATES)).order_by(Letter.created_at.desc())
        )
    )


def create_letter(slug: str, source: LetterSource, *, by: audit.Actor | None = None) -> Letter:
    """A new draft; an organiser who is not an admin may manage what they create."""
    validate_slug(slug)
    if get_letter(slug) is not None:
        raise LetterError(_l("Er bestaat al een brief met de korte naam '%(slug)s'.", slug=slug), "slug")
    letter = Letter(slug=slug, state=LetterState.DRAFT, version=1)
    _apply_source(letter, source)
    letter.versions.append(
        LetterVersion(number=1, title=letter.title, subtitle=letter.subtitle, body=letter.body)
    )
    db.session.add(letter)
    db.session.flush()
    if isinstance(by, User) and not by.is_admin:
        from .auth import add_grant

        add_grant(letter, by)
    audit.record_operation("letter.create", by, letter=letter)
    return letter


def has_signatures(letter: Letter) -> bool:
    return db.session.scalar(select(Signature.id).where(Signature.letter_id == letter.id).limit(1)) is not None


def ensure_changeable(letter: Letter) -> None:
    """A published letter is what was sent: its text and settings stay."""
    if letter.is_published:
        raise LetterError(_l("Een gepubliceerde brief kan niet meer gewijzigd worden."))


def update_letter(letter: Letter, source: LetterSource, note: str = "", *, by: audit.Actor | None = None) -> bool:
    """Change a letter. Once people have signed, a change of the text is kept
    as a new, visible version (DESIGN §3). Returns True when a version was made."""
    ensure_changeable(letter)
    text_changed = (source.title, source.subtitle, source.body.strip()) != (
        letter.title, letter.subtitle, letter.body.strip()
    )
    _apply_source(letter, source)
    new_version = text_changed and has_signatures(letter)
    if new_version:
        letter.version += 1
        letter.versions.append(
            LetterVersion(
                number=letter.version, title=letter.title, subtitle=letter.subtitle,
                body=letter.body, note=note,
            )
        )
    elif text_changed:
        current = letter.versions[-1] if letter.versions else None
        if current is not None:
            current.title, current.subtitle, current.body = letter.title, letter.subtitle, letter.body
    bump_revision(letter)
    audit.record_operation("letter.edit", by, letter=letter, new_version=new_version, version=letter.version)
    return new_version


def _apply_source(letter: Letter, source: LetterSource) -> None:
    for field in fields(LetterSource):
        setattr(letter, field.name, getattr(source, field.name))


def open_letter(letter: Letter, *, by: audit.Actor | None = None) -> None:
    if letter.is_published:
        raise LetterError(_l("Een gepubliceerde brief kan niet opnieuw geopend worden."))
    letter.state = LetterState.OPEN
    letter.opened_at = letter.opened_at or utcnow()
    letter.closed_at = None
    audit.record_operation("letter.open", by, letter=letter)


def close_letter(letter: Letter, *, by: audit.Actor | None = None) -> None:
    if letter.is_published:
        raise LetterError(_l("Een gepubliceerde brief is al afgesloten."))
    if letter.state == LetterState.DRAFT:
        raise LetterError(_l("Een ontwerp werd nog niet geopend."))
    letter.state = LetterState.CLOSED
    letter.closed_at = utcnow()
    audit.record_operation("letter.close", by, letter=letter)


def set_deadline(letter: Letter, deadline: date | None, *, by: audit.Actor | None = None) -> None:
    """Change (typically extend) the deadline. Closed-by-the-clock is derived,
    so a letter whose new deadline lies ahead is open again by itself."""
    if letter.is_published:
        raise LetterError(_l("Een gepubliceerde brief kan niet meer ondertekend worden."))
    old = letter.deadline
    letter.deadline = deadline
    audit.record_operation("letter.deadline", by, letter=letter, old=old, new=deadline)


def bump_revision(letter_or_id: Letter | int) -> None:
    """Record that the compiled document's data changed."""
    letter_id = letter_or_id if isinstance(letter_or_id, int) else letter_or_id.id
    db.session.execute(
        update(Letter)
        .where(Letter.id == letter_id)
        .values(data_revision=Letter.data_revision + 1)
        .execution_options(synchronize_session=False)
    )
    loaded = db.session.identity_map.get(db.session.identity_key(Letter, letter_id))
    if loaded is not None:
        db.session.refresh(loaded, ["data_revision"])


def adjust_counts(signature: Signature, delta: int) -> None:
    """Keep the letter's counters in step when a signature starts or stops
    counting; one UPDATE, so concurrent confirmations never lose a count."""
    values = {
        "signature_count": Letter.signature_count + delta,
        "data_revision": Letter.data_revision + 1,
    }
    if signature.is_organisation:
        values["organisation_count"] = Letter.organisation_count + delta
    db.session.execute(
        update(Letter)
        .where(Letter.id == signature.letter_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    letter = db.session.get(Letter, signature.letter_id)
    if letter is not None:
        db.session.refresh(letter, ["signature_count", "organisation_count", "data_revision"])


def letter_summary(letter: Letter) -> dict:
    """The JSON of `GET /api/letters/<slug>` (DESIGN §6)."""
    return {
        "slug": letter.slug,
        "title": letter.title,
        "status": letter.status.value,
        "deadline": letter.deadline.isoformat() if letter.deadline else None,
        "signatures": letter.signature_count,
        "goal": letter.goal,
        "counts": {
            "organisations": letter.organisation_count,
            "persons": letter.signature_count - letter.organisation_count,
        },
        "version": letter.version,
        "publication_date": letter.publication_date.isoformat() if letter.publication_date else None,
        "publication_manner": letter.publication_manner or None,
        "answers": [_answer_summary(answer) for answer in _answers(letter)],
    }


def _answers(letter: Letter):
    if not letter.is_published:
        return []
    from .publication import answers_of

    return answers_of(letter)


def _answer_summary(answer) -> dict:
    return {
        "id": answer.id,
        "from": answer.author_name,
        "function": answer.author_function or None,
        "affiliation": answer.author_affiliation or None,
        "received_on": answer.received_on.isoformat(),
        "text": answer.body,
        "attachment": bool(answer.attachment_name),
    }
