"""The reference of bench/load.py: a bare ASGI app answering a fixed 13 KB HTML page.

It does what no real page can do without (accept the connection, parse the request, send
13 KB of HTML through uvicorn) and nothing else, so a page's requests per second divided by
this app's tells how much of the machine the application itself takes, whatever the machine.

    .venv/bin/python bench/bare_app.py --port 8001 --workers 2

It runs uvicorn with the options `bourse serve` passes (app/ops/cli.py: proxy headers trusted
from the loopback addresses, log level info, uvicorn's default access log), so that the only
difference between the two servers is the application.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

PAGE_BYTES = 13 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def make_page(size: int = PAGE_BYTES) -> bytes:
    """A plausible HTML page of exactly `size` bytes (a list of needs, padded)."""
    head = (
        '<!doctype html>\n<html lang="fr">\n<head><meta charset="utf-8">'
        "<title>Bourse à initiatives — référence</title></head>\n<body>\n<main>\n<ol>\n"
    )
    tail = "</ol>\n</main>\n</body>\n</html>\n"
    items: list[str] = []
    number = 0
    while len((head + "".join(items) + tail).encode()) < size:
        number += 1
        items.append(
            f'<li><a href="/needs/{number}-besoin-{number}">Besoin numéro {number} : '
            "une garde d'enfants aux horaires décalés</a> <span>12 soutiens</span></li>\n"
        )
    body = (head + "".join(items[:-1]) + tail).encode()
    return body + b" " * (size - len(body) - 1) + b"\n"


PAGE = make_page()
HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-length", str(len(PAGE)).encode()),
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Every HTTP request, whatever its path or method, gets the same page."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": PAGE})


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    # The workers import "bare_app:app" again (uvicorn needs an import string for them).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run(
        "bare_app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1",
        log_level="info",
        reload=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
