"""What the tracker fakes share: a loopback HTTP server in a thread, and faults injected at writes."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    at: int
    kind: str
    retry_after: int = 7
    match: str | None = None
    """Regex on "METHOD /path": the first matching write fails (instead of the write number `at`)."""


class FakeServer:
    """Lifecycle (`with fake:`), address, and the fault controls of a fake tracker.

    Subclasses call `_serve()` at the end of `__init__`, answer requests in `_dispatch(handler, method)`
    and consult `_hits` for each write.
    """

    fault_kinds: tuple[str, ...] = ()

    def _serve(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.fired: list[Fault] = []
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_write(self, at: int, kind: str, retry_after: int = 7) -> None:
        """Fail the `at`-th write call (1-based) the way `kind` says."""
        assert kind in self.fault_kinds, kind
        self.faults.append(Fault(at, kind, retry_after))

    def fail_request(self, match: str, kind: str, retry_after: int = 7) -> None:
        """Fail the first write whose "METHOD /path" matches the regex `match` (e.g. hang after a create)."""
        assert kind in self.fault_kinds, kind
        self.faults.append(Fault(0, kind, retry_after, match=match))

    def _hits(self, fault: Fault, method: str, path: str) -> bool:
        if fault.match is not None:
            return fault not in self.fired and re.search(fault.match, f"{method} {path}") is not None
        return fault.at == len(self.writes)

    @property
    def write_count(self) -> int:
        return len(self.writes)

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each keep-alive call stalls 40-90 ms (TRACKERS.md)

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

            def do_PATCH(self) -> None:
                fake._dispatch(self, "PATCH")

            def do_PUT(self) -> None:
                fake._dispatch(self, "PUT")

            def do_DELETE(self) -> None:
                fake._dispatch(self, "DELETE")

        return Handler
