"""Rate limits at the cost of their counters (DESIGN §8): `memory://`
counters without a thread per moment, and a view's limit hit without
Flask-Limiter's per-request resolution (`ViewLimit`), and Flask-Limiter's
request hooks only on the requests its limits count
(`limiter_hooks_only_where_limits_count`).

The `limits` library's memory storage starts a timer thread on a hit
whenever the previous one has finished, about every 10 ms under load: each
start waits for the new thread to be scheduled, and on a busy machine that
wait cost the signing request more than the rest of the limiter (DESIGN §8).
This storage sweeps expired counters itself, at most every SWEEP_SECONDS, in
the request that hits; a counter that expired is never read in between (its
own hit drops it first). Registered for the `memory://` scheme on import,
before Flask-Limiter builds its storage. Redis (`redis://`) is unaffected.
"""
from __future__ import annotations

import time
from functools import lru_cache, partial, wraps

from flask import Flask, current_app
from flask.globals import request_ctx
from limits import parse
from limits.storage import MemoryStorage


class SweepingMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["memory"]
    SWEEP_SECONDS = 10.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one MemoryStorage starts: swept here instead
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    # MemoryStorage calls this private hook on every hit (pinned by
    # tests/test_signing.py: a hit starts no thread, expired counters go).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_SECONDS
            self.sweep()

    def sweep(self) -> None:
        self._MemoryStorage__expire_events()


class ViewLimit:
    """One view's limit per client address, hit with one call into `limits`.

    Flask-Limiter's decorator resolves, filters and sorts every limit of the
    request on each hit: on the signing path that cost 9 % of the request's
    instructions for one counter (DESIGN §8). Here the counter lives in
    Flask-Limiter's own storage and is hit through its own strategy
    (`limiter.limiter`). While that storage fails, or after it failed, the
    hit goes Flask-Limiter's own way: it falls back to memory, says so in
    the log, and finds out when the storage is back.

    Used as the view's decorator, where Flask-Limiter's would be; `check()`
    answers None when the request may go on, else `on_breach`'s answer."""

    def __init__(self, limiter, scope: str, limit_value, *, key_func, exempt_when, on_breach):
        self.limiter, self.scope, self.key_func = limiter, scope, key_func
        self.limit_value, self.exempt_when, self.on_breach = limit_value, exempt_when, on_breach

        def counted_by_flask_limiter():
            return None

        counted_by_flask_limiter.__qualname__ = f"{scope}.counted_by_flask_limiter"
        flask_limiters_limit = limiter.limit(limit_value, key_func=key_func, exempt_when=exempt_when, on_breach=on_breach)
        self._flask_limiter_way = flask_limiters_limit(counted_by_flask_limiter)

    def __call__(self, view):
        @wraps(view)
        def limited(*args, **kwargs):
            refused = self.check()
            return view(*args, **kwargs) if refused is None else refused

        return limited

    def check(self):
        if not self.limiter.enabled or self.exempt_when():
            return None
        strategy = self.limiter.limiter
        if strategy.storage is not self.limiter.storage:  # its in-memory fallback: the storage is down
            return self._flask_limiter_way()
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")  # as Flask-Limiter keys its counters
        identifiers = (prefix, self.scope, self.key_func()) if prefix else (self.scope, self.key_func())
        try:
            allowed = strategy.hit(_parsed(self.limit_value()), *identifiers)
        except Exception:  # noqa: BLE001 - the storage failed: Flask-Limiter's way decides
            return self._flask_limiter_way()
        return None if allowed else self.on_breach(None)


@lru_cache(maxsize=16)
def _parsed(limit_value: str):
    return parse(limit_value)


# Where Flask-Limiter keeps what its limits counted in this request
# (flask_limiter.Limiter.context, on the request context).
LIMITER_REQUEST_STATE = "_limiter_request_context"


def limiter_hooks_only_where_limits_count(app: Flask, limiter) -> None:
    """Flask-Limiter hooks every request three times (DESIGN §8):

    - before it, to check default, application and blueprint limits: this
      app sets none of those, only limits on single views, which their
      decorators check themselves, so the hook goes (kept if such limits are
      configured after all);
    - after it (the `deduct_when` deductions of the login throttle,
      rate-limit headers) and at its teardown (which resets its per-request
      state): work only where a limit counted the request and left that
      state on the request context. Elsewhere, a signing included (its limit
      is a ViewLimit), they built the state only to find it empty, 2 % of a
      signing's instructions; they now run where it exists. The failed-login
      throttle of tests/test_auth.py depends on them."""
    manager = limiter.limit_manager
    if not any(getattr(manager, name, True) for name in ("_default_limits", "_application_limits", "_blueprint_limits")):
        hooks = app.before_request_funcs.get(None, [])
        app.before_request_funcs[None] = [hook for hook in hooks if hook != limiter._check_request_limit]

    def belongs_to_limiter(hook) -> bool:
        return getattr(hook, "__self__", None) is limiter or (
            isinstance(hook, partial) and any(arg is limiter for arg in hook.args)
        )

    def where_it_counted(hook):
        @wraps(hook)
        def guarded(response_or_error):
            # Asked of the context itself: through the proxy, a missing
            # attribute costs ten times as much.
            if hasattr(request_ctx._get_current_object(), LIMITER_REQUEST_STATE):
                return hook(response_or_error)
            return response_or_error

        return guarded

    for hooks in (app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [where_it_counted(hook) if belongs_to_limiter(hook) else hook for hook in hooks.get(None, [])]
