"""The views declare which GETs write and which page may be framed; the
transaction and header code read those marks, not lists of endpoints."""
from __future__ import annotations

from flask import request

from signatory.database import is_read_only_request
from signatory.view_marks import current_view_may_be_framed


def test_a_get_that_writes_takes_the_write_transaction(sqlite_app):
    writing = [
        "/confirm/some-token",
        "/organise/letters/brief/document.pdf",
        "/organise/letters/brief/signatures.csv",
        "/organise/letters/brief/signatures.xlsx",
        "/organise/letters/brief/notify-by-post.csv",
        "/organise/letters/brief/notify-by-post.xlsx",
    ]
    for path in writing:
        with sqlite_app.test_request_context(path):
            assert not is_read_only_request(), path
    for path in ("/letters/brief", "/letters/brief/signatories", "/organise/letters/brief", "/no/such/page"):
        with sqlite_app.test_request_context(path):
            assert is_read_only_request(), path
    with sqlite_app.test_request_context("/letters/brief/sign", method="POST"):
        assert not is_read_only_request()


def test_only_the_embed_card_is_marked_framable(sqlite_app):
    urls = sqlite_app.url_map.bind("localhost")
    framable = set()
    for rule in sqlite_app.url_map.iter_rules():
        # The rule's own verb: HEAD and OPTIONS are answered by every rule
        # on a path, so they would reach another view on a shared URL.
        method = "GET" if "GET" in rule.methods else "POST"
        path = urls.build(rule.endpoint, {name: 1 for name in rule.arguments}, method=method)
        with sqlite_app.test_request_context(path, method=method):
            assert request.endpoint == rule.endpoint
            if current_view_may_be_framed():
                framable.add(rule.endpoint)
    assert framable == {"public.embed"}
