"""A LibreTranslate-compatible stub on 127.0.0.1 that records what it is sent.

Runs in a thread of the test process (a standard-library HTTP server), so a daemon started as a
subprocess can call it while the test polls the daemon synchronously. Each string comes back as
``"<prefix> " + string``; ``received`` keeps every string asked for, ``bodies`` every request body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class TranslateStub:
    prefix: str = "MT"
    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def translate_stub(prefix: str = "MT") -> Iterator[TranslateStub]:
    """``with translate_stub() as stub:`` point ``[translate] provider`` at ``stub.url``."""
    stub = TranslateStub(prefix=prefix)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            strings = body.get("q") or []
            strings = [strings] if isinstance(strings, str) else list(strings)
            with stub.lock:
                stub.bodies.append(body)
                stub.received.extend(strings)
            answer = json.dumps({"translatedText": [f"{stub.prefix} {s}" for s in strings]}).encode()
            self.send_response(200 if self.path.rstrip("/").endswith("/translate") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="translate-stub", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
