"""Responses a reverse proxy may cache for a few seconds (DESIGN §8)."""
from __future__ import annotations

import hashlib
import json

from flask import Response, make_response, request

PUBLIC_MAX_AGE = 5


def cacheable(response: Response, max_age: int = PUBLIC_MAX_AGE) -> Response:
    """Mark a page without per-visitor content as publicly cacheable, with an
    ETag so that a revalidation costs no body."""
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.add_etag()
    return response.make_conditional(request)


def cacheable_json(payload: dict, max_age: int = PUBLIC_MAX_AGE) -> Response:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    response = make_response(body)
    response.mimetype = "application/json"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)
