"""Text hygiene: the one policy on invisible characters, for the forms and
the domain alike.

Some characters never belong in what people type: they are invisible, they
break a line where no line may break, or (NUL) the database refuses them.
Tab, line feed and carriage return are white space: each field decides what
its line breaks mean (a name has none, an address and a paragraph keep them).
"""
from __future__ import annotations

import re
import unicodedata

# The policy, one range a line. Anything added here is refused by the forms
# and removed by the domain everywhere.
_UNWANTED_RANGES = (
    "\x00-\x08\x0b\x0c\x0e-\x1f",  # the C0 controls but tab, line feed, carriage return
    "\x7f-\x9f",  # DEL and the C1 controls
    "\u2028\u2029",  # line and paragraph separator
    "\ufeff",  # byte-order mark (zero-width no-break space)
)
_UNWANTED = re.compile("[" + "".join(_UNWANTED_RANGES) + "]")

# Embeddings, overrides and isolates: in a name or a place they would
# reorder what follows (the next signer's line). One-line fields drop them
# without a word; a paragraph may need them for mixed-direction text.
_BIDI_RANGE = "\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROLS = re.compile("[" + _BIDI_RANGE + "]")

# In a key people type (a login address) nothing invisible means anything:
# the policy, the bidi controls, and the zero-width characters, direction
# marks and invisible operators that a name in some scripts may need.
_ZERO_WIDTH_RANGE = "\u200b-\u200f\u2060-\u206f"
_INVISIBLE = re.compile("[" + "".join(_UNWANTED_RANGES) + _BIDI_RANGE + _ZERO_WIDTH_RANGE + "]")


def has_control_characters(text: str) -> bool:
    """Whether text holds a character of the policy, or a carriage return
    that does not end a line."""
    return bool(_UNWANTED.search(text)) or "\r" in text.replace("\r\n", "")


def strip_controls(text):
    """The text without the characters of the policy; white space and line
    breaks as they were. (A form filter, so a non-string passes through.)"""
    return _UNWANTED.sub("", text) if isinstance(text, str) else text


def strip_invisible(text: str | None) -> str:
    """Text as a key: every invisible character out, nothing in its place."""
    return _INVISIBLE.sub("", text or "")


def clean_line(text: str | None) -> str:
    """One line of text: the characters of the policy out, bidi controls
    out, white space (line breaks included) folded to single spaces, NFC."""
    text = _UNWANTED.sub(" ", _BIDI_CONTROLS.sub("", text or ""))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def clean_multiline(text: str | None) -> str:
    """A postal address keeps its line breaks; each line is cleaned as one
    line and empty lines go."""
    lines = [clean_line(line) for line in (text or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def normalise_paragraph(text: str) -> str:
    """A motivating paragraph: line endings as \\n, the characters of the
    policy out, no trailing white space, NFC. Blank lines inside the
    paragraph are kept, because they take lines in the document."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNWANTED.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n").strip()
