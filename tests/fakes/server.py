"""What the tracker fakes share: a loopback HTTP server in a thread, and faults injected at requests.

Fault kinds, for every fake: "drop" applies the write then closes the connection without an answer;
"500" applies it then answers 500; "timeout" applies it then answers after the client gave up; "429"
refuses it with Retry-After; "502" refuses any request (a read too) as a gateway would; "refuse-401",
"refuse-403", "refuse-404" and "refuse-422" refuse it the way the tracker says no to a person. Each
fake adds its own (GitHub: "403", its secondary rate limit; "quota", its primary one).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REFUSALS = ("refuse-401", "refuse-403", "refuse-404", "refuse-422")


@dataclass
class Fault:
    at: int
    kind: str
    retry_after: int = 7
    match: str | None = None
    """Regex on "METHOD /path": the first `times` matching requests fail, reads included (instead of write `at`)."""
    times: int = 1


class FakeServer:
    """Lifecycle (`with fake:`), address, and the fault controls of a fake tracker.

    Subclasses call `_serve()` at the end of `__init__`, answer requests in `_dispatch(handler, method)`
    and consult `_hits` for each write.
    """

    fault_kinds: tuple[str, ...] = ("drop", "500", "timeout", "429", "502", *REFUSALS)
    applied_kinds = ("drop", "500", "timeout")
    """Kinds that apply the request before failing it; the others refuse it (nothing applied)."""

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

    def fail_request(self, match: str, kind: str, retry_after: int = 7, times: int = 1) -> None:
        """Fail the first `times` requests whose "METHOD /path" matches the regex `match` (reads too)."""
        assert kind in self.fault_kinds, kind
        assert kind not in self.applied_kinds or not match.startswith("GET"), "a read has nothing to apply"
        self.faults.append(Fault(0, kind, retry_after, match=match, times=times))

    def requested(self, method: str, pattern: str) -> int:
        """How many requests with this method had a path matching the regex `pattern` (faulted ones included)."""
        return sum(1 for m, p in self.requests if m == method and re.fullmatch(pattern, p))

    def _hits(self, fault: Fault, method: str, path: str) -> bool:
        if fault.match is not None:
            fired = sum(1 for f in self.fired if f is fault)
            return fired < fault.times and re.search(fault.match, f"{method} {path}") is not None
        return method != "GET" and fault.at == len(self.writes)

    def _record(self, method: str, path: str) -> Fault | None:
        """Count the request (and the write), and the fault it meets, if any. Call with the lock held."""
        self.requests.append((method, path))
        if method != "GET":
            self.writes.append((method, path))
        fault = next((f for f in self.faults if self._hits(f, method, path)), None)
        if fault is not None:
            self.fired.append(fault)
        return fault

    def _refusal(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        """The answer to a request refused by `fault` (nothing applied), in the tracker's own words."""
        raise NotImplementedError

    def _server_error(self) -> Any:
        """The body of a 500, in the tracker's own words."""
        raise NotImplementedError

    def _answer(
        self, h: BaseHTTPRequestHandler, fault: Fault | None, status: int, body: Any, headers: dict[str, str]
    ) -> None:
        """Answer an applied request, or fail it after applying it the way `fault` says."""
        if fault is None:
            return self._send(h, status, body, headers)
        if fault.kind == "drop":
            h.close_connection = True  # applied, and the client never hears back
            return None
        if fault.kind == "500":
            return self._send(h, 500, self._server_error(), {})
        self._released.wait(self.timeout_delay)  # "timeout": applied, answered after the client gave up
        try:
            return self._send(h, status, body, headers)
        except OSError:
            return None

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raise NotImplementedError

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
