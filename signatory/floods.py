"""Spotting a flood (e-petitions' trending-IP and trending-domain views):
many signatures of one letter from one network — the stored keyed IP hash,
never an address — or from one e-mail domain, within an hour or a day.

A burst is found again from the data each time (nothing is stored); one
action rejects its members, each through `moderation.reject_signature`, so
each rejection is audited and can be undone, one by one or all together.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import moderation
from .extensions import db
from .models import Letter, Signature, User, utcnow
from .states import LIVE_STATUSES, SignatureStatus

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# How many signatures from one source within a window make a burst.
THRESHOLDS = {
    ("network", HOUR): 10,
    ("network", DAY): 40,
    ("domain", HOUR): 20,
    ("domain", DAY): 80,
}
# Large public mail services: thousands of honest people share them.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "hotmail.com", "hotmail.be", "hotmail.nl", "outlook.com", "outlook.be",
    "live.com", "live.be", "msn.com", "yahoo.com", "yahoo.fr", "icloud.com", "me.com", "telenet.be",
    "skynet.be", "proximus.be", "scarlet.be", "gmx.com", "gmx.net", "web.de", "protonmail.com", "proton.me",
    "orange.fr", "free.fr", "ziggo.nl", "kpnmail.nl", "xs4all.nl",
})
LOOKBACK = timedelta(days=30)  # IP hashes expire with the unconfirmed window
WINDOW_NAMES = {HOUR: _l("binnen een uur"), DAY: _l("binnen een dag")}


@dataclass
class Burst:
    source: str  # "network" or "domain"
    key: str  # the IP hash or the domain
    window: timedelta
    members: list[Signature] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.members[0].created_at

    @property
    def end(self) -> datetime:
        return self.members[-1].created_at

    @property
    def label(self) -> str:
        """What an organiser may see: the domain, or a short, stable name
        for the network (a few characters of the keyed hash, no address)."""
        return self.key if self.source == "domain" else self.key[:8]

    @property
    def window_name(self) -> str:
        return str(WINDOW_NAMES[self.window])

    @property
    def ident(self) -> str:
        """Names the burst in a form, to find it again when acting on it
        (with its start time); the page never carries the whole hash."""
        return f"{self.source}:{int(self.window.total_seconds())}:{self.label}"


def _domain_expression():
    position = func.strpos if db.engine.dialect.name == "postgresql" else func.instr
    return func.substr(Signature.email_key, position(Signature.email_key, "@") + 1)


def _busy_sources(letter: Letter, source: str, since: datetime) -> list[str]:
    column = Signature.ip_hash if source == "network" else _domain_expression()
    smallest = min(count for (kind, _window), count in THRESHOLDS.items() if kind == source)
    query = (
        select(column)
        .where(
            Signature.letter_id == letter.id,
            Signature.status.in_(LIVE_STATUSES),
            Signature.created_at >= since,
            column.is_not(None),
        )
        .group_by(column)
        .having(func.count() >= smallest)
    )
    keys = [key for key in db.session.scalars(query) if key]
    return [key for key in keys if source == "network" or key not in PUBLIC_MAIL_DOMAINS]


def _members_of(letter: Letter, source: str, key: str, since: datetime) -> list[Signature]:
    condition = Signature.ip_hash == key if source == "network" else Signature.email_key.like(f"%@{_escape_like(key)}", escape="\\")
    return list(db.session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.status.in_(LIVE_STATUSES), Signature.created_at >= since, condition)
        .order_by(Signature.created_at, Signature.id)
    ))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _windows(rows: list[Signature], window: timedelta, threshold: int) -> list[list[Signature]]:
    """Maximal runs of signatures in which some `window` holds at least
    `threshold` of them; overlapping runs merge into one burst."""
    in_burst = [False] * len(rows)
    start = 0
    for end in range(len(rows)):
        while rows[end].created_at - rows[start].created_at > window:
            start += 1
        if end - start + 1 >= threshold:
            for index in range(start, end + 1):
                in_burst[index] = True
    bursts, current = [], []
    for index, row in enumerate(rows):
        if in_burst[index]:
            if current and row.created_at - current[-1].created_at > window:
                bursts.append(current)
                current = []
            current.append(row)
        elif current:
            bursts.append(current)
            current = []
    if current:
        bursts.append(current)
    return bursts


def bursts(letter: Letter, now: datetime | None = None) -> list[Burst]:
    """The letter's bursts, largest first. A burst within an hour is not
    repeated as a burst within a day unless the day holds more."""
    since = (now or utcnow()) - LOOKBACK
    found: list[Burst] = []
    for source in ("network", "domain"):
        for key in _busy_sources(letter, source, since):
            rows = _members_of(letter, source, key, since)
            hourly = [Burst(source, key, HOUR, run) for run in _windows(rows, HOUR, THRESHOLDS[(source, HOUR)])]
            covered = {signature.id for burst in hourly for signature in burst.members}
            daily = [
                Burst(source, key, DAY, run) for run in _windows(rows, DAY, THRESHOLDS[(source, DAY)])
                if {signature.id for signature in run} - covered
            ]
            found += hourly + daily
    return sorted(found, key=lambda burst: (-len(burst.members), burst.start))


def find_burst(letter: Letter, ident: str, start: str) -> Burst | None:
    """The burst an organiser saw, found again (its start time pins it)."""
    for burst in bursts(letter):
        if burst.ident == ident and burst.start.isoformat() == start:
            return burst
    return None


def reason_for(burst: Burst) -> str:
    kind = _l("netwerk") if burst.source == "network" else _l("e-maildomein")
    return str(_l("Vloed: %(count)s handtekeningen van %(kind)s %(label)s %(window)s",
                  count=len(burst.members), kind=kind, label=burst.label, window=burst.window_name))


def reject_burst(burst: Burst, organiser: User) -> list[int]:
    """Reject every live member of the burst; each is audited on its own."""
    reason = reason_for(burst)
    rejected = []
    for signature in burst.members:
        if signature.status in LIVE_STATUSES:
            moderation.reject_signature(signature, organiser, reason)
            rejected.append(signature.id)
    return rejected


def rejected_groups(letter: Letter) -> list[tuple[str, int]]:
    """Signatures rejected together (a burst, by its reason), to undo at once."""
    rows = db.session.execute(
        select(Signature.rejection_reason, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.REJECTED,
               Signature.rejection_reason != "")
        .group_by(Signature.rejection_reason)
        .having(func.count() >= 2)
        .order_by(func.count().desc())
        .limit(20)
    )
    return [(reason, count) for reason, count in rows]


def undo_rejections(letter: Letter, reason: str, organiser: User) -> int:
    """Undo a burst's rejection: its signatures return to what they were,
    each with its own audit entry."""
    signatures = db.session.scalars(
        select(Signature).where(
            Signature.letter_id == letter.id, Signature.status == SignatureStatus.REJECTED,
            Signature.rejection_reason == reason,
        )
    ).all()
    for signature in signatures:
        moderation.unreject_signature(signature, organiser)
    return len(signatures)
