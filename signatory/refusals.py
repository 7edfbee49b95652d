"""The one kind of error the domain speaks in.

A rule says no: the message says why, in words for the person who asked
(translated when shown), and `field` names the form field it belongs to,
or None when it is about the whole request. Every refusal — signing,
moderation, publication, letters, accounts, links — is a Refusal; the views
put it on the form with `forms.show_refusal`, flash it, or print it (CLI).
"""
from __future__ import annotations


class Refusal(ValueError):
    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class LinkError(Refusal):
    """A link that does not, or no longer, lead anywhere: one error page
    answers it, whichever view followed the link."""
