"""Responses that carry a file rather than a page."""
from __future__ import annotations

from flask import Response, make_response, request


def pdf_response(body: bytes, filename: str, *, sha256: str | None = None,
                 cache_control: str | None = None) -> Response:
    """A PDF shown in the browser under `filename`. With its SHA-256 the
    response also states it (`X-Content-SHA256`, so that a reader can check a
    copy against the published hash) and uses it as the ETag, so that a
    revalidation costs no body."""
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if cache_control is not None:
        response.headers["Cache-Control"] = cache_control
    if sha256 is None:
        return response
    response.headers["X-Content-SHA256"] = sha256
    response.set_etag(sha256)
    return response.make_conditional(request)
