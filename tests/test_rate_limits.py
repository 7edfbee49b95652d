"""The signing path leans on Flask-Limiter/limits internals to stay cheap
(DESIGN §8); these tests pin them, so that an upgrade that renames one
fails here instead of silently bringing the cost back."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
import redis

from flask.globals import request_ctx

from conftest import IN_CI, Signer, build_app, csrf_token, make_account, make_letter
from servers import free_port
from signatory.extensions import db, limiter
from signatory.ratelimits import LIMITER_REQUEST_STATE


def _limiter_hooks(app) -> list:
    """Every request hook that belongs to Flask-Limiter."""
    hooks = [hook for functions in app.before_request_funcs.values() for hook in functions]
    return [
        hook for hook in hooks
        if getattr(hook, "__self__", None) is limiter or getattr(hook, "__module__", "").startswith("flask_limiter")
    ]


def test_no_limiter_hook_runs_on_every_request_and_a_views_limit_still_applies(monkeypatch, tmp_path, sqlite_template):
    """ratelimits.limiter_hooks_only_where_limits_count removes Flask-Limiter's per-request
    hook (`_check_request_limit`): were it renamed, the removal would do
    nothing and every page view would pay the limiter again."""
    target = tmp_path / "db.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{target}", SIGN_RATE_LIMIT="2 per minute")
    assert _limiter_hooks(app) == []
    with app.app_context():
        make_letter()
    signer = Signer(app, app.test_client())
    statuses = [signer.sign(email=f"{n}@example.org").status_code for n in range(3)]
    assert statuses == [303, 303, 429], "the signing view's own limit applies"


def test_flask_limiters_response_hooks_work_only_where_its_decorators_counted(monkeypatch, tmp_path, sqlite_template):
    """ratelimits.limiter_hooks_only_where_limits_count: Flask-Limiter's
    after-request and teardown hooks built its per-request state on every
    request; a signing now leaves none, and a login, which its decorators
    count, finds it there. Were the state renamed, the hooks would never run
    and the login throttle (tests/test_auth.py) would stop counting."""
    target = tmp_path / "db.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{target}", SIGN_RATE_LIMIT="5 per minute")
    with app.app_context():
        make_letter()
        make_account("organiser@example.org")
        db.session.commit()
    client = app.test_client()
    signer = Signer(app, client)
    signer.open()
    with client:  # keeps the request's context after it is answered
        assert signer.sign().status_code == 303
        assert not hasattr(request_ctx, LIMITER_REQUEST_STATE)
    page = client.get("/organise/login").get_data(as_text=True)
    with client:
        wrong = {"email": "organiser@example.org", "password": "not the password", "csrf_token": csrf_token(page)}
        assert client.post("/organise/login", data=wrong).status_code == 401
        assert hasattr(request_ctx, LIMITER_REQUEST_STATE)


def test_memory_counters_start_no_thread_and_expired_ones_are_swept():
    """signatory.ratelimits replaces the timer thread that `limits`'
    MemoryStorage starts on hits by a sweep in the hitting request."""
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from signatory.ratelimits import SweepingMemoryStorage

    storage = storage_from_string("memory://")
    assert isinstance(storage, SweepingMemoryStorage)
    started = []
    real_start = threading.Thread.start
    threading.Thread.start = lambda thread: started.append(thread) or real_start(thread)
    try:
        one_second = FixedWindowRateLimiter(storage)
        limit = parse("2 per second")
        assert [one_second.hit(limit, "10.0.0.1") for _ in range(3)] == [True, True, False]
        for n in range(200):
            one_second.hit(limit, f"10.0.1.{n}")
    finally:
        threading.Thread.start = real_start
    assert started == [], "a hit starts no thread"
    time.sleep(1.1)
    assert one_second.hit(limit, "10.0.0.1"), "a new window"
    storage.next_sweep = 0  # as SWEEP_SECONDS later
    one_second.hit(limit, "10.0.0.2")
    assert len(storage.storage) == 2, "the counters of addresses gone quiet are dropped"


def _signer_counting_resolutions(monkeypatch, tmp_path, sqlite_template, **config) -> tuple[Signer, list]:
    """A signer of a letter on an app with `config`, and the list of every
    time Flask-Limiter resolved a request's limits (its slow way)."""
    target = tmp_path / "db.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{target}", **config)
    with app.app_context():
        make_letter()
    resolved = []
    real_check = limiter._check_request_limit
    monkeypatch.setattr(limiter, "_check_request_limit", lambda *a, **k: resolved.append(a) or real_check(*a, **k))
    return Signer(app, app.test_client()), resolved


def test_the_signing_limit_is_one_counter_in_flask_limiters_storage(monkeypatch, tmp_path, sqlite_template):
    """ratelimits.ViewLimit hits the counter without Flask-Limiter's per-hit
    resolution of limits (the cost DESIGN §8 counts), in Flask-Limiter's own
    storage, under its key prefix; Flask-Limiter's way is kept for a storage
    that fails (tests/test_bad_day.py)."""
    signer, resolved = _signer_counting_resolutions(
        monkeypatch, tmp_path, sqlite_template, SIGN_RATE_LIMIT="2 per minute", RATELIMIT_KEY_PREFIX="proef",
    )
    statuses = [signer.sign(email=f"teller{n}@example.org").status_code for n in range(3)]
    assert statuses == [303, 303, 429]
    assert "Te veel handtekeningen" in signer.sign(email="nog@example.org").get_data(as_text=True)
    assert resolved == [], "no hit went through Flask-Limiter's resolution"
    keys = [key for key in limiter.storage.storage if "sign" in key]
    assert keys and all(key.startswith("LIMITER/proef/sign/") for key in keys), keys


def test_when_the_storage_is_back_the_signing_limit_counts_there_again(monkeypatch, tmp_path, sqlite_template):
    """ViewLimit's way back: while Redis is down the hits go Flask-Limiter's
    way (its memory fallback); once Flask-Limiter has found Redis again, the
    hits are one counter in Redis, without Flask-Limiter's resolution."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(server, os.X_OK):
        missing = "redis-server is not installed (tests/run.sh installs Debian's redis-server when run as root)"
        pytest.fail(f"CI=true requires {missing}") if IN_CI else pytest.skip(missing)
    port = free_port()
    signer, resolved = _signer_counting_resolutions(
        monkeypatch, tmp_path, sqlite_template,
        SIGN_RATE_LIMIT="100 per minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}",
    )
    numbers = iter(range(1000))

    def sign() -> int:
        return signer.sign(email=f"terug{next(numbers)}@example.org").status_code

    redis_server = None
    try:
        assert sign() == 303 and resolved, "Redis down: Flask-Limiter's way, to its fallback"
        assert limiter.limiter.storage is not limiter.storage
        redis_server = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while limiter.limiter.storage is not limiter.storage:  # Flask-Limiter looks again after a second or more
            assert time.monotonic() < deadline, "Flask-Limiter never found Redis again"
            with socket.socket() as probe:
                listening = probe.connect_ex(("127.0.0.1", port)) == 0
            if listening:
                assert sign() == 303
            time.sleep(0.3)
        resolved.clear()
        assert sign() == 303
        assert resolved == [], "Redis back: one counter, without Flask-Limiter's resolution"
        keys = [key for key in redis.Redis(port=port).keys() if b"LIMITER/sign/" in key]
        assert keys, "the hit is counted in Redis"
    finally:
        limiter._storage_dead = False  # the limiter is one object for every app of the session
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)
