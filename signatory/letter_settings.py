"""A letter's settings: whom it addresses, who sends it, how to reach them,
until when and how many — and the organiser's logo. They change the public
page and the compiled document, never the text (no new version)."""
from __future__ import annotations

from . import audit, letters, logos
from .letters import LetterSettings
from .models import Letter


def update_settings(
    letter: Letter, settings: LetterSettings, *, by: audit.Actor | None = None,
    logo: tuple[bytes, str] | None = None, remove_logo: bool = False,
) -> list[str]:
    """Apply the settings (and a new or removed logo); returns what changed."""
    letters.validate_timezone(settings.timezone)
    if settings.goal is not None:
        letters.parse_goal(settings.goal)
    checked_logo = logos.checked_logo(*logo) if logo is not None else None  # refuse before changing anything
    changed = [name for name in letters.SETTINGS_FIELDS if getattr(letter, name) != getattr(settings, name)]
    for name in changed:
        setattr(letter, name, getattr(settings, name))
    if checked_logo is not None:
        letter.logo, letter.logo_mime = checked_logo
        changed.append("logo")
    elif remove_logo and letter.logo_mime:
        logos.remove_logo(letter)
        changed.append("logo")
    if changed:
        letters.bump_revision(letter)
        audit.record("letter.settings", by=by, letter=letter, changed=changed)
    return changed
