"""The JSON API (DESIGN §6)."""
from __future__ import annotations

from flask import Blueprint

from ..letters import letter_summary, public_letter_or_404
from .caching import current_json

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/letters/<slug>")
def letter(slug: str):
    return current_json(letter_summary(public_letter_or_404(slug)))
