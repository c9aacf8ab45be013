"""Board tests: every request must end without a server error, even when the test only looks
at the status code or the page (the error handler logs each 500 it turns into a page)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_server_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="app.web.errors")
    yield
    errors = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.name == "app.web.errors" and r.levelno >= logging.ERROR
    ]
    assert errors == [], f"the application answered with a server error: {errors}"
