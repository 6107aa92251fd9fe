"""`zoo report --serve`: the site over HTTP on 127.0.0.1 (a plain static server; Ctrl-C stops it cleanly)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"  # never another interface: the site is for this machine's browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass  # one line per request would bury the URL


def make_server(folder: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for `folder` bound to 127.0.0.1:`port` (0: a free port); OSError when the port is taken."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return ThreadingHTTPServer((HOST, port), handler)


def serve(folder: Path, port: int, announce: Callable[[str], None]) -> None:
    """Serve until Ctrl-C; the socket is closed on the way out."""
    server = make_server(folder, port)
    announce(f"http://{HOST}:{server.server_address[1]}/index.html")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
