"""A fake Hugging Face Hub over HTTP on 127.0.0.1: HEAD and (ranged) GET of /<repo>/resolve/<rev>/<file>,
with the headers huggingface_hub reads (X-Repo-Commit, X-Linked-Etag = sha256, X-Linked-Size). It sends
slowly, in chunks, and counts the bytes sent, so a test can SIGKILL a downloader at a chosen point.
FakeWeb is the same server for plain URLs (/<path> -> bytes), e.g. a ZOO_URL_MIRROR, optionally ignoring
Range requests as some servers do."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, files: dict[str, bytes], chunk: int = 1 << 20, delay_s: float = 0.01, ranges: bool = True):
        self.files = files  # "repo_id/filename" -> bytes (FakeWeb: "path/without/leading/slash" -> bytes)
        self.chunk, self.delay_s, self.ranges = chunk, delay_s, ranges
        self.sent = 0  # body bytes sent so far, over all requests
        self.gets = 0
        self.range_starts: list[int] = []  # the start of every ranged GET
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _find(self) -> bytes | None:
                return hub.find(self.path.split("?")[0])

            def _headers(self, data: bytes, status: int, start: int = 0) -> None:
                self.send_response(status)
                sha = hashlib.sha256(data).hexdigest()
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{sha}"')
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()

            def do_HEAD(self) -> None:  # noqa: N802
                data = self._find()
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self._headers(data, 200)

            def do_GET(self) -> None:  # noqa: N802
                data = self._find()
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                hub.gets += 1
                m = re.match(r"bytes=(\d+)-", self.headers.get("Range", "")) if hub.ranges else None
                start = int(m.group(1)) if m else 0
                if m:
                    hub.range_starts.append(start)
                self._headers(data, 206 if m else 200, start)
                try:
                    for i in range(start, len(data), hub.chunk):
                        self.wfile.write(data[i:i + hub.chunk])
                        hub.sent += len(data[i:i + hub.chunk])
                        time.sleep(hub.delay_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def find(self, path: str) -> bytes | None:
        m = re.match(r"^/(?:(?:models|datasets|spaces)/)?(.+)/resolve/([^/]+)/(.+)$", path)
        return self.files.get(f"{m.group(1)}/{m.group(3)}") if m else None

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeWeb(FakeHub):
    """Plain URLs: GET /<path> serves files["<path>"]."""

    def find(self, path: str) -> bytes | None:
        return self.files.get(path.lstrip("/"))
