"""Locale-aware sort keys for signatories' names (DESIGN §5).

Collation is the Unicode Collation Algorithm (pyuca, the DUCET table), which
orders accented and non-Latin names sensibly without a system ICU. The Dutch
surname prefix follows the letter's locale:

* nl-BE (default): the prefix is part of the surname — "Van den Broeck"
  sorts under V;
* nl-NL: a lower-case prefix is ignored — "van den Broek" sorts under B
  (a capitalised prefix, as after a first name is dropped, still counts).

Keys are bytes, computed once when a signature is written and stored, so that
sorting 100,000 names is an index scan and the database compares them bytewise.
"""
from __future__ import annotations

import re
import struct
import unicodedata
from functools import lru_cache

from pyuca import Collator

from .states import Kind

_PREFIXES = sorted(
    [
        "van", "van de", "van den", "van der", "van het", "van 't", "de", "den", "der",
        "het", "'t", "ter", "ten", "te", "in 't", "in de", "in den", "in het", "op de",
        "op den", "op 't", "uit de", "uit den", "uit het", "von", "von der", "d'", "del",
        "della", "la", "le", "du", "des",
    ],
    key=len,
    reverse=True,
)
_NL_PREFIX = re.compile(r"^(" + "|".join(re.escape(p) for p in _PREFIXES) + r")(\s+|(?<=')(?=\w))")


ORGANISATIONS_FIRST = b"\x01"
PERSONS_NEXT = b"\x02"


@lru_cache(maxsize=1)
def _collator() -> Collator:
    return Collator()


def sortable_surname(last_name: str, locale: str) -> str:
    last_name = " ".join(last_name.split())
    if locale == "nl-NL":
        match = _NL_PREFIX.match(last_name)
        if match and last_name[:1].islower():
            return last_name[match.end():] + " " + match.group(1)
    return last_name


@lru_cache(maxsize=65536)
def text_key(text: str) -> bytes:
    weights = _weights(text)
    if weights and max(weights) > 0xFFFF:  # never in DUCET: clamped, not refused
        weights = [min(weight, 0xFFFF) for weight in weights]
    return struct.pack(f">{len(weights)}H", *weights)


def _weights(text: str) -> list[int]:
    """pyuca's sort key of the text, put together from those of its words:
    a crowd's names share their first names and many surnames, and a space
    (a starter, in no contraction) ends every match of the collation, so the
    key of "maes jan" is made of those of "maes", " " and "jan", level by
    level. A word that begins with a combining mark is collated whole."""
    words = text.split(" ")
    if len(words) == 1 or any(word and unicodedata.combining(word[0]) for word in words):
        return list(_collator().sort_key(text))
    space = _word_levels(" ")
    levels = [_word_levels(word) for word in words]
    weights: list[int] = []
    for level in range(_LEVELS):
        if level:
            weights.append(0)  # pyuca's level separator
        for index, word in enumerate(levels):
            if index:
                weights.extend(space[level])
            weights.extend(word[level])
    return weights


_LEVELS = 4  # as pyuca's sort_key_from_collation_elements


@lru_cache(maxsize=65536)
def _word_levels(word: str) -> tuple[tuple[int, ...], ...]:
    """One word's non-zero weights, level by level. pyuca's collation
    elements all have the same number of levels (three), so the levels are
    the columns of the table of elements."""
    elements = _collator().collation_elements(unicodedata.normalize("NFD", word))
    levels = [tuple(filter(None, column)) for column in zip(*elements)]
    return tuple(levels + [()] * (_LEVELS - len(levels)))


def name_sort_key(*, kind: str, last_name: str, first_name: str, organisation: str, locale: str) -> bytes:
    """The key a signatory is listed under: organisations first, by their
    name; then persons, by surname and first name. The leading byte keeps the
    two groups apart in one ordered index (DESIGN §5: organisations, then
    persons)."""
    if kind == Kind.ORGANISATION and organisation.strip():
        return ORGANISATIONS_FIRST + text_key(" ".join(organisation.split()).casefold())
    surname = sortable_surname(last_name, locale)
    return PERSONS_NEXT + text_key(f"{surname} {' '.join(first_name.split())}".casefold())
