"""server.context: the request and flask.g themselves, as the hooks read them."""

from __future__ import annotations

from flask import Flask, g, request

from server.context import current_g, current_request


def test_the_objects_behind_the_proxies_of_this_request_only():
    app = Flask(__name__)
    with app.test_request_context("/api/v1/x", method="POST"):
        req, ctx = current_request(), current_g()
        ctx.seen = 1
        assert req is request._get_current_object() and req.path == "/api/v1/x"
        assert g.seen == 1 and ctx is g._get_current_object()
    with app.test_request_context("/other"):
        assert current_request() is not req and current_request().path == "/other"
        assert "seen" not in current_g()
