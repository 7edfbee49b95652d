"""The ten-line rule (DESIGN §4): a motivating paragraph takes at most ten
lines of the compiled document, counted by typesetting it exactly as the
document prints it (`typography.build_paragraph` at `FRAME_INNER_WIDTH`).
The signing form, the organiser's paper entry, moderation and the PDF all ask
here.
"""
from __future__ import annotations

from ..text import normalise_paragraph
from .typography import FRAME_INNER_WIDTH, build_paragraph

MAX_PARAGRAPH_LINES = 10
# Guards for the server: the typesetter never sees more than this.
MAX_PARAGRAPH_CHARS = 2000


def count_lines(text: str) -> int:
    """How many lines the paragraph takes in the compiled document."""
    text = normalise_paragraph(text)
    if not text:
        return 0
    paragraph = build_paragraph(text)
    paragraph.wrap(FRAME_INNER_WIDTH, 10_000_000)
    return len(paragraph.blPara.lines)


def line_verdict(text: str) -> tuple[int, bool]:
    """(lines, fits). Cheap guards first, so the typesetter is never handed a
    huge input."""
    normalised = normalise_paragraph(text)
    if len(normalised) > MAX_PARAGRAPH_CHARS:
        return max(MAX_PARAGRAPH_LINES + 1, len(normalised) // 80), False
    breaks = normalised.count("\n")
    if breaks >= MAX_PARAGRAPH_LINES:
        return breaks + 1, False
    lines = count_lines(normalised)
    return lines, lines <= MAX_PARAGRAPH_LINES
