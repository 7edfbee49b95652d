"""The kept-document store, the Flask and database side of the PDF: a
letter's data from the database, and the compiled PDF kept per
`data_revision` in the `documents` table.

* `get_or_compile(letter)` answers at once with the ready document of the
  current revision when there is one; a small letter is compiled inline; a
  large one is compiled by a background thread (its own app context and
  session, one per letter, revision and kind per process; a pending row
  whose compile died is taken over after `PDF_PENDING_TIMEOUT` seconds), so
  that no request waits more than a few seconds.
* `freeze_published_document(letter)` compiles synchronously and keeps the
  published document (with its SHA-256) for the publish step.
* `current_pdf(letter)`, for `flask pdf SLUG -o FILE`, in any state of the letter.

Domain functions flush and never commit; only the background worker commits
its own session. Rows are read in the order of the stored collation key and
streamed (`yield_per`): the whole list is never in memory. Neither e-mail nor
postal address is ever selected.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

from flask import current_app, g
from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Document, Letter, Signature, utcnow
from ..states import DocumentStatus, Kind, ParagraphStatus, SignatureStatus, Source
from .build import compile_document
from .contract import CompiledDocument, Contribution, DocumentData, Signatory, index_letter

log = logging.getLogger(__name__)


# Measured by tests/benchmarks/bench_pdf.py on a 2-core machine (see
# BENCHMARKS.md): about 30 µs per listed name and 0.8 ms per paragraph.
SECONDS_PER_SIGNATURE = 0.00004
SECONDS_PER_PARAGRAPH = 0.0009
DEFAULT_INLINE_SECONDS = 2.0
DEFAULT_PENDING_TIMEOUT = 15 * 60
DEFAULT_RETRY_FAILED = 10 * 60
STREAM_BATCH = 2000


# --- the data ------------------------------------------------------------------------------

def _counted(letter_id: int):
    return and_(Signature.letter_id == letter_id, Signature.status == SignatureStatus.CONFIRMED)


def published_paragraphs_condition(letter_id: int):
    return and_(
        _counted(letter_id),
        Signature.consent_paragraph.is_(True),
        Signature.paragraph_status == ParagraphStatus.APPROVED,
        Signature.paragraph != "",
    )


_LIST_COLUMNS = (
    Signature.first_name, Signature.last_name, Signature.kind, Signature.organisation,
    Signature.function, Signature.place,
)


def _stream(session, statement) -> Iterator:
    """Rows of a statement, fetched in batches; the query runs when the
    first row is asked for (the document consumes one list after another)."""
    result = session.execute(statement.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from result
    finally:
        result.close()


def _signatories(session, letter: Letter, condition, *, with_index: bool) -> Iterator[Signatory]:
    statement = (
        select(*_LIST_COLUMNS)
        .where(_counted(letter.id), Signature.consent_name.is_(True), condition)
        .order_by(Signature.sort_key, Signature.id)
    )
    locale = letter.locale
    for first_name, last_name, kind, organisation, function, place in _stream(session, statement):
        yield Signatory(
            name=f"{first_name} {last_name}".strip(),
            kind=kind,
            organisation=organisation or "",
            function=function or "",
            place=place or "",
            index=index_letter(last_name, locale) if with_index else "",
        )


def _contributions(session, letter: Letter) -> Iterator[Contribution]:
    # In the order people signed: sorting anonymous paragraphs by name would
    # tell where in the alphabet their authors stand.
    statement = (
        select(Signature.paragraph, Signature.consent_name, *_LIST_COLUMNS)
        .where(published_paragraphs_condition(letter.id))
        .order_by(Signature.id)
    )
    for paragraph, consent_name, first_name, last_name, kind, organisation, function, place in _stream(
        session, statement
    ):
        yield Contribution(
            text=paragraph,
            name=f"{first_name} {last_name}".strip() if consent_name else "",
            kind=kind,
            organisation=(organisation or "") if consent_name else "",
            function=(function or "") if consent_name else "",
            place=place or "",
        )


def _count(session, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Signature).where(*conditions)) or 0


def document_data(letter: Letter, *, session=None) -> DocumentData:
    """The document's data, with lazy iterables over the database rows."""
    session = session or db.session
    published = letter.is_published
    is_organisation = Signature.kind == Kind.ORGANISATION
    created = (letter.published_at if published else None) or letter.updated_at or letter.created_at
    counted = _counted(letter.id)
    return DocumentData(
        title=letter.title,
        subtitle=letter.subtitle or "",
        addressee=letter.addressee or "",
        organiser=letter.organiser or "",
        place_date=letter.place_date or "",
        contact=letter.contact or "",
        body=letter.body or "",
        language=letter.language or "nl",
        locale=letter.locale or "nl-BE",
        signatory_count=_count(session, _counted(letter.id)),
        unnamed_count=_count(session, _counted(letter.id), Signature.consent_name.is_(False)),
        contribution_count=_count(session, published_paragraphs_condition(letter.id)),
        first_signatories=_signatories(session, letter, Signature.first_signatory.is_(True), with_index=False),
        organisations=_signatories(
            session, letter, and_(Signature.first_signatory.is_(False), is_organisation), with_index=False
        ),
        persons=_signatories(
            session, letter, and_(Signature.first_signatory.is_(False), ~is_organisation), with_index=True
        ),
        contributions=_contributions(session, letter),
        created=created,
        timezone=letter.timezone or "Europe/Brussels",
        publication_date=letter.publication_date if published else None,
        revision=letter.data_revision,
        text_version=letter.version or 1,
        url=f"{current_app.config.get('BASE_URL', '')}/letters/{letter.slug}",
        logo=_logo(session, letter),
        logo_mime=letter.logo_mime or "",
        **_gathering_counts(session, counted, is_organisation),
    )


def _gathering_counts(session, counted, is_organisation) -> dict[str, int]:
    """How the counted signatures were gathered and checked (the colophon),
    in one pass over the letter's signatures."""
    def number(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            number(Signature.source == Source.ONLINE),
            number(Signature.source.in_((Source.PAPER, Source.EMAIL))),
            number(is_organisation),
            number(and_(is_organisation, Signature.verified_at.is_not(None))),
        ).where(counted)
    ).one()
    names = ("confirmed_by_email", "typed_in", "organisation_count", "organisations_verified")
    return {name: int(value or 0) for name, value in zip(names, row)}


def _logo(session, letter: Letter) -> bytes | None:
    """The logo's bytes (a deferred column: read only when there is one)."""
    if not letter.logo_mime:
        return None
    return session.scalar(select(Letter.logo).where(Letter.id == letter.id))


def compile_letter(letter: Letter, *, session=None) -> CompiledDocument:
    """Compile the letter as it is now: a draft until it is published."""
    data = document_data(letter, session=session)
    return compile_document(data, draft=not letter.is_published)


def estimated_seconds(letter: Letter, *, session=None) -> float:
    session = session or db.session
    paragraphs = _count(session, published_paragraphs_condition(letter.id))
    return SECONDS_PER_SIGNATURE * (letter.signature_count or 0) + SECONDS_PER_PARAGRAPH * paragraphs


# --- kept documents ------------------------------------------------------------------------

def _find(session, letter_id: int, revision: int, published: bool) -> Document | None:
    return session.scalar(
        select(Document).where(
            Document.letter_id == letter_id,
            Document.data_revision == revision,
            Document.published.is_(published),
        )
    )


def latest_ready(letter: Letter) -> Document | None:
    """The newest ready document of the letter's kind (draft or published),
    whatever its revision: offered while a newer one is being prepared."""
    published = letter.is_published
    return db.session.scalar(
        select(Document)
        .where(
            Document.letter_id == letter.id, Document.published.is_(published), Document.status == DocumentStatus.READY,
            Document.pdf.is_not(None),  # withdrawn by an erasure: see withdraw_published_documents
        )
        .order_by(Document.data_revision.desc(), Document.id.desc())
        .limit(1)
    )


def withdraw_published_documents(letter: Letter) -> None:
    """After an erasure no earlier published version may be served again:
    their bytes go, their SHA-256 stays on record."""
    db.session.execute(
        update(Document)
        .where(Document.letter_id == letter.id, Document.published.is_(True))
        .values(pdf=None)
        .execution_options(synchronize_session=False)
    )


def _store(session, document: Document, compiled: CompiledDocument) -> None:
    """Keep the compiled bytes on their row; a ready draft makes the drafts
    of older revisions obsolete."""
    document.pdf = compiled.pdf
    document.sha256 = compiled.sha256
    document.page_count = compiled.page_count
    document.status = DocumentStatus.READY
    document.error = ""
    document.ready_at = utcnow()
    if not document.published:
        _forget_older_drafts(session, document.letter_id, document.data_revision)


def _forget_older_drafts(session, letter_id: int, revision: int) -> None:
    """Once a draft of this revision is ready, drafts of older revisions are
    never served again: keep the table small."""
    session.execute(
        delete(Document)
        .where(Document.letter_id == letter_id, Document.published.is_(False), Document.data_revision < revision)
        .execution_options(synchronize_session=False)
    )


def _insert(session, letter: Letter, published: bool, status: str) -> Document:
    """A new row for the letter's current revision; when another request
    inserted it first, that row."""
    document = Document(letter_id=letter.id, data_revision=letter.data_revision, published=published,
                        status=status)
    try:
        with session.begin_nested():
            session.add(document)
            session.flush()
    except IntegrityError:
        existing = _find(session, letter.id, letter.data_revision, published)
        if existing is None:
            raise
        return existing
    return document


def get_or_compile(letter: Letter) -> Document:
    """The document of the letter's current data: ready, or pending while a
    background thread compiles it (DESIGN §7: no request waits long)."""
    session = db.session
    published = letter.is_published
    document = _find(session, letter.id, letter.data_revision, published)
    config = current_app.config
    now = utcnow()
    if document is not None:
        if document.status == DocumentStatus.READY:
            return document
        if document.status == DocumentStatus.PENDING:
            timeout = timedelta(seconds=config.get("PDF_PENDING_TIMEOUT", DEFAULT_PENDING_TIMEOUT))
            if _is_running(document) or now - document.created_at < timeout:
                return document
        elif document.status == DocumentStatus.FAILED:
            retry = timedelta(seconds=config.get("PDF_RETRY_FAILED", DEFAULT_RETRY_FAILED))
            if now - document.created_at < retry:
                return document
        # A compile that died, or a failure old enough to try again: take
        # the row over, if no other request did so just now.
        taken = session.execute(
            update(Document)
            .where(Document.id == document.id, Document.created_at == document.created_at)
            .values(status=DocumentStatus.PENDING, created_at=now, error="")
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(document)
        if taken != 1:
            return document
    inline = estimated_seconds(letter) <= config.get("PDF_INLINE_SECONDS", DEFAULT_INLINE_SECONDS)
    if inline:
        compiled = compile_letter(letter)
        if document is None:
            document = _insert(session, letter, published, DocumentStatus.PENDING)
        if document.status != DocumentStatus.READY:
            _store(session, document, compiled)
            session.flush()
        return document
    if document is None:
        document = _insert(session, letter, published, DocumentStatus.PENDING)
        if document.status != DocumentStatus.PENDING:
            return document
    _start_after_commit(session, current_app._get_current_object(), document.id)
    return document


def freeze_published_document(letter: Letter) -> Document:
    """Compile the published document and keep it: `published=True`, its
    SHA-256 stored. Called by the publish step and by an erasure after
    publication (a new, dated version); flushes, never commits. A small letter
    compiles now; a large one in the background after the commit. Calling it
    again for the same revision returns the same document."""
    session = db.session
    document = _find(session, letter.id, letter.data_revision, True)
    if document is not None and document.status == DocumentStatus.READY:
        return document
    inline_limit = current_app.config.get("PDF_INLINE_SECONDS", DEFAULT_INLINE_SECONDS)
    if estimated_seconds(letter) > inline_limit:
        # A large letter: publish at once, compile outside the request; the
        # public page offers the document as soon as it is ready.
        if document is None:
            document = _insert(session, letter, True, DocumentStatus.PENDING)
        _start_after_commit(session, current_app._get_current_object(), document.id)
        return document
    compiled = compile_letter(letter)
    if document is None:
        document = _insert(session, letter, True, DocumentStatus.PENDING)
    _store(session, document, compiled)
    session.flush()
    return document


# --- the background compile ------------------------------------------------------------------

_lock = threading.Lock()
_running: dict[int, threading.Thread] = {}  # document id → its compiling thread


def _is_running(document: Document) -> bool:
    with _lock:
        thread = _running.get(document.id)
        return thread is not None and thread.is_alive()


def _start_after_commit(session, app, document_id: int) -> None:
    """Start the compile once the pending row is committed (the thread reads
    it); a request that rolls back starts nothing."""
    from sqlalchemy import event

    real_session = session() if callable(session) else session

    def start(_session) -> None:
        start_compile(app, document_id)

    event.listen(real_session, "after_commit", start, once=True)


def start_compile(app, document_id: int) -> threading.Thread | None:
    """Compile a pending document in a thread, once per process."""
    with _lock:
        thread = _running.get(document_id)
        if thread is not None and thread.is_alive():
            return thread
        thread = threading.Thread(
            target=_compile_in_background, args=(app, document_id), name=f"pdf-{document_id}", daemon=True
        )
        _running[document_id] = thread
    thread.start()
    return thread


def wait_for_compiles(timeout: float = 120) -> None:
    """Wait for the background compiles of this process (tests, shutdown)."""
    with _lock:
        threads = list(_running.values())
    for thread in threads:
        thread.join(timeout)


def _compile_in_background(app, document_id: int) -> None:
    try:
        with app.app_context():
            session = db.session
            try:
                document = session.get(Document, document_id)
                if document is None or document.status != DocumentStatus.PENDING:
                    return
                letter = session.get(Letter, document.letter_id)
                if letter is None:
                    return
                published = bool(document.published)
                letter_id, data_revision = letter.id, document.data_revision
                # The long read in a deferred transaction: on SQLite a
                # compile of many names must not hold the write lock that
                # signers need (the write below takes it briefly).
                session.rollback()
                g.sqlite_read_phase = True
                letter = session.get(Letter, letter_id)
                data = document_data(letter, session=session)
                data.revision = data_revision
                compiled = compile_document(data, draft=not published)
                session.rollback()  # end the long read; write in a short transaction
                g.sqlite_read_phase = False
                document = session.get(Document, document_id)
                if document is None:
                    return
                _store(session, document, compiled)
                session.commit()
            except Exception as error:  # recorded on the row, never lost
                log.exception("compiling document %s failed", document_id)
                session.rollback()
                g.sqlite_read_phase = False
                session.execute(
                    update(Document)
                    .where(Document.id == document_id)
                    .values(status=DocumentStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
                )
                session.commit()
            finally:
                db.session.remove()
    finally:
        with _lock:
            _running.pop(document_id, None)


# --- for the command -----------------------------------------------------------------------

def current_pdf(letter: Letter) -> tuple[bytes, int]:
    """The PDF of the letter's data as it stands and its page count: the kept
    document of this revision when it is ready, else compiled now (not kept)."""
    published = letter.is_published
    kept = _find(db.session, letter.id, letter.data_revision, published)
    if kept is not None and kept.status == DocumentStatus.READY and kept.pdf:
        return kept.pdf, kept.page_count
    compiled = compile_letter(letter)
    return compiled.pdf, compiled.page_count
