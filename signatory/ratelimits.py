"""`memory://` rate-limit counters without a thread per moment.

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
