"""The organiser's overview of a letter: counts per state, paragraphs per
moderation state, persons and organisations, and signatures per day as a
server-rendered SVG chart (readable without JavaScript)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from markupsafe import Markup, escape
from sqlalchemy import func, select

from .extensions import db
from .models import Letter, Signature
from .states import Kind, LetterState, ParagraphStatus, SignatureStatus


@dataclass
class Overview:
    statuses: dict[str, int]
    paragraphs: dict[str, int]
    kinds: dict[str, int]
    sources: dict[str, int]
    per_day: list[tuple[date, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def _grouped(letter: Letter, column, *where) -> dict[str, int]:
    rows = db.session.execute(
        select(column, func.count()).where(Signature.letter_id == letter.id, *where).group_by(column)
    )
    return {str(key): count for key, count in rows}


def overview(letter: Letter) -> Overview:
    statuses = {status.value: 0 for status in SignatureStatus}
    statuses.update(_grouped(letter, Signature.status))
    paragraphs = {status.value: 0 for status in ParagraphStatus if status != ParagraphStatus.NONE}
    paragraph_counts = _grouped(
        letter, Signature.paragraph_status,
        Signature.status == SignatureStatus.CONFIRMED, Signature.paragraph_status != ParagraphStatus.NONE,
    )
    paragraphs.update(paragraph_counts)
    paragraphs["without_consent"] = db.session.scalar(
        select(func.count()).select_from(Signature).where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.paragraph_status != ParagraphStatus.NONE,
            Signature.consent_paragraph.is_(False),
        )
    ) or 0
    kinds = {kind.value: 0 for kind in Kind}
    kinds.update(_grouped(letter, Signature.kind, Signature.status == SignatureStatus.CONFIRMED))
    sources = _grouped(letter, Signature.source, Signature.status == SignatureStatus.CONFIRMED)
    return Overview(statuses, paragraphs, kinds, sources, signatures_per_day(letter))


def signatures_per_day(letter: Letter) -> list[tuple[date, int]]:
    """Counted signatures per day of signing, in the letter's time zone,
    every day from the first to the last (days without any show as 0).
    The database groups by hour, so a million signatures cost a few
    thousand rows here."""
    if db.engine.dialect.name == "postgresql":
        bucket = func.to_char(Signature.created_at, "YYYY-MM-DD HH24")
    else:
        bucket = func.strftime("%Y-%m-%d %H", Signature.created_at)
    rows = db.session.execute(
        select(bucket, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.CONFIRMED)
        .group_by(bucket)
    )
    days: Counter[date] = Counter()
    zone = letter.zone
    for hour_text, count in rows:
        if not hour_text:
            continue
        moment = datetime.strptime(hour_text, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
        days[moment.astimezone(zone).date()] += count
    if not days:
        return []
    first, last = min(days), max(days)
    if letter.state == LetterState.OPEN:
        # Up to today, so that quiet days since the last signature show.
        last = max(last, min(datetime.now(zone).date(), letter.deadline or date.max))
    span = min((last - first).days, 3660)
    return [(first + timedelta(days=offset), days.get(first + timedelta(days=offset), 0)) for offset in range(span + 1)]


def axis_steps(value: int) -> tuple[int, int]:
    """(step, number of steps) for the count axis: a whole step of 1, 2 or
    5 times a power of ten, at most five of them, covering `value`."""
    value = max(int(value), 1)
    magnitude = 1
    while True:
        for base in (1, 2, 5):
            step = base * magnitude
            if step * 5 >= value:
                return step, -(-value // step)
        magnitude *= 10


def chart_svg(per_day: list[tuple[date, int]], *, title: str, label_for=None, width: int = 720, height: int = 260) -> Markup:
    """A bar chart as inline SVG: no script, no inline style (the CSP
    forbids both), colours through classes in organise.css."""
    label_for = label_for or (lambda day, count: f"{day.isoformat()}: {count}")
    left, right, top, bottom = 48, 12, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    if not per_day:
        parts.append(f'<text class="chart__empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">–</text></svg>')
        return Markup("".join(parts))
    step, steps = axis_steps(max(count for _day, count in per_day))
    peak = step * steps
    for index in range(steps + 1):
        y = top + plot_h - plot_h * index / steps
        value = step * index
        parts.append(f'<line class="chart__grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart__label" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    slot = plot_w / len(per_day)
    bar = min(36.0, max(1.0, slot * 0.8))
    for index, (day, count) in enumerate(per_day):
        bar_h = plot_h * count / peak
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_h - bar_h
        parts.append(
            f'<rect class="chart__bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{bar_h:.1f}">'
            f"<title>{escape(label_for(day, count))}</title></rect>"
        )
    # Date labels: first, last, and a few in between.
    marks = sorted({0, len(per_day) - 1, *range(0, len(per_day), max(1, len(per_day) // 6))})
    if len(marks) > 1 and marks[-1] - marks[-2] < max(1, len(per_day) // 12):
        marks.pop(-2)
    for index in marks:
        day = per_day[index][0]
        x = left + index * slot + slot / 2
        parts.append(
            f'<text class="chart__label" x="{x:.1f}" y="{height - 12}" text-anchor="middle">{day.day}/{day.month}</text>'
        )
    parts.append(f'<line class="chart__axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
