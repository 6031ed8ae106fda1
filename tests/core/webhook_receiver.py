"""A real HTTP receiver on loopback for webhook tests: records every request, answers from a script."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``url(path)`` to subscribe; ``answer(path, 500, 500, 200)`` scripts the next answers on a path
    (then 200 for ever); ``requests`` lists what arrived."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *codes: int) -> None:
        with self.lock:
            self.scripts[path] = list(codes)

    def next_code(self, path: str) -> int:
        with self.lock:
            script = self.scripts.get(path)
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
            return 200

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            code = receiver.next_code(self.path)
            self.send_response(code)
            if 300 <= code < 400:
                self.send_header("Location", receiver.url("/elsewhere"))
            answer = b"ok" if code < 300 else f"error {code}".encode()
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1, and the allow-list opened for it (QUORUM_OUTBOUND_ALLOW=127.0.0.1)."""
    monkeypatch.setenv("QUORUM_OUTBOUND_ALLOW", "127.0.0.1")
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
