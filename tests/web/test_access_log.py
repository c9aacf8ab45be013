"""`bourse serve` writes one line per request (method, path, status, duration), from every
worker, with no address, no query string and no forged line; BOURSE_ACCESS_LOG=off writes none
(app/web/access_log.py, issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.serving import bourse_process

LINE = re.compile(r'"(GET|POST) (\S*) HTTP/1\.1" (\d{3}) (\d+\.\d) ms$')


def _access_lines(output: list[str]) -> list[re.Match[str]]:
    return [m for m in (LINE.search(line.rstrip("\n")) for line in output) if m]


def test_each_request_is_one_line_without_address_or_query(tmp_path: Path) -> None:
    output: list[str] = []
    with (
        bourse_process(tmp_path, "--workers", "2", output=output) as (_process, url, _db),
        httpx.Client(base_url=url) as client,
    ):
        assert client.get("/?q=ma-recherche-privee").status_code == 200
        assert client.get("/page-qui-n-existe-pas").status_code == 404
        client.get("/needs/%0AINFO:%20faux")  # a newline in the path, decoded
        for _ in range(6):  # enough for both workers to answer some
            assert client.get("/about").status_code == 200
    # The server has stopped and its log is read to the end.
    lines = _access_lines(output)
    seen = [(m.group(1), m.group(2), m.group(3)) for m in lines]
    assert ("GET", "/", "200") in seen
    assert ("GET", "/page-qui-n-existe-pas", "404") in seen
    assert seen.count(("GET", "/about", "200")) == 6
    assert ("GET", "/healthz", "200") in seen
    # The newline in the path neither ends the line nor starts a forged one.
    [forged] = [line for line in output if '"GET /needs/' in line]
    assert '"GET /needs/?INFO: faux HTTP/1.1" 404' in forged
    assert not any(line.startswith("INFO: faux") for line in output)
    text = "".join(output)
    assert "ma-recherche-privee" not in text
    # uvicorn's own access line, which named the client's address and port:
    assert not re.search(r'\d+\.\d+\.\d+\.\d+:\d+ - "', text)


def test_access_log_off_writes_none(tmp_path: Path) -> None:
    output: list[str] = []
    env = {"BOURSE_ACCESS_LOG": "off"}
    with bourse_process(tmp_path, env=env, output=output) as (_process, url, _db):
        assert httpx.get(f"{url}/about").status_code == 200
    assert _access_lines(output) == []
    assert any("Application startup complete" in line for line in output)
