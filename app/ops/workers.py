"""`bourse serve --workers N` on Linux: N uvicorn processes, each listening on a socket of its
own bound to the same address (SO_REUSEPORT), so that the kernel spreads new connections evenly
between them.

Why not uvicorn's own supervisor: its workers share one listening socket, and a worker woken by
a new connection accepts every connection waiting at that moment. A burst of connections (a
client pool opening, a proxy's keep-alive connections, a load test) then lands mostly on one
worker: with 64 connections opened at once, the two workers were seen holding 16 and 48, 47 and
17, 27 and 37, and every request of the crowded worker waited behind up to three times more
than the other's (the signed-in pages' p99, bench/README.md, issue 13). With one socket per
worker the kernel hashes each new connection to one of them.

What this supervisor does, as uvicorn's does: starts the workers (spawned, as uvicorn does),
restarts one that dies, stops everything on SIGINT or SIGTERM (each worker finishes its
requests in flight, as on its own), and stops when a worker fails before serving (the app or
the address is broken: restarting would fail the same way). What it leaves out: uvicorn's
health pings of a hung worker, and SIGHUP, SIGTTIN and SIGTTOU. Elsewhere than Linux (where
SO_REUSEPORT does not spread connections, or does not exist), `bourse serve` uses uvicorn's.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("bourse")

# uvicorn's exit status for a worker that could not start serving (uvicorn.config).
STARTUP_FAILURE = 3
_GRACE_SECONDS = 30.0


def spreads_connections() -> bool:
    """Whether this system spreads connections between sockets sharing a port."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) that others may bind too (SO_REUSEPORT), not listening
    yet (uvicorn calls listen() with its backlog)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(options: dict[str, Any]) -> None:
    """One worker process: its own socket on the address, then uvicorn as usual."""
    import uvicorn

    config = uvicorn.Config(**options)
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        logging.getLogger("uvicorn.error").error("%s", exc)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(config).run(sockets=[sock])


def run(options: dict[str, Any], workers: int) -> int:
    """Serves with `workers` processes until SIGINT or SIGTERM; `options` are uvicorn.Config's
    (host and port included). Returns the exit status."""
    host, port = options["host"], options["port"]
    # Bound here first: a port already taken fails at once, with the system's words; port 0
    # becomes the port the system chose, which every worker then shares. This socket never
    # listens, so it is given no connection.
    try:
        reserved = listening_socket(host, port)
    except OSError as exc:
        log.error("bourse serve: %s:%s: %s", host, port, exc)
        return 1
    options = {**options, "port": reserved.getsockname()[1]}
    shown = f"[{host}]" if ":" in host else host
    # In uvicorn's words, which people and tools (tests/serving.py) look for.
    log.info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit), %d workers with a socket each",
        shown,
        options["port"],
        workers,
    )
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(options,), name="bourse-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    status = 0
    try:
        while not stopping:
            # Wakes when a worker ends, or every half second to look at the signals.
            wait([p.sentinel for p in processes], timeout=0.5)
            for index, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("a worker could not start: stopping")
                    stopping.append(0)
                    status = STARTUP_FAILURE
                    break
                # An error: a worker ends only by a crash (a signal, or uvicorn stopping itself).
                log.error("worker %s ended (%s): starting another", process.pid, process.exitcode)
                processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for process in processes:
            process.join(_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        reserved.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status
