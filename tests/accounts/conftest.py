"""Account tests never tolerate a server error: "no 500" is checked for every test here, not
only where a test remembers to look at the status code."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_server_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="app.web.errors")
    yield
    errors = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.name == "app.web.errors" and record.levelno >= logging.ERROR
    ]
    assert errors == [], f"the application answered with a server error: {errors}"
