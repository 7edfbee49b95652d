"""Browser tests: the real app on a loopback port, driven by headless Chromium.

(A package, so that its conftest does not shadow `tests/conftest.py`, which
the other test modules import their helpers from.)
"""
