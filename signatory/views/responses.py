"""Responses that carry a file rather than a page."""
from __future__ import annotations

from flask import Response, make_response, request


# A file someone else made (an answer's attachment) may carry scripts: the
# browser opens it in a unique origin with nothing allowed.
SANDBOX_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def pdf_response(body: bytes, filename: str, *, sha256: str | None = None,
                 cache_control: str | None = None, untrusted: bool = False) -> Response:
    """A PDF shown in the browser under `filename`. With its SHA-256 the
    response also states it (`X-Content-SHA256`, so that a reader can check a
    copy against the published hash) and uses it as the ETag, so that a
    revalidation costs no body. An `untrusted` PDF (not made by us) is
    downloaded, never shown as a page of our origin, and sandboxed."""
    response = make_response(body)
    response.mimetype = "application/pdf"
    disposition = "attachment" if untrusted else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    if untrusted:
        response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    if cache_control is not None:
        response.headers["Cache-Control"] = cache_control
    if sha256 is None:
        return response
    response.headers["X-Content-SHA256"] = sha256
    response.set_etag(sha256)
    return response.make_conditional(request)
