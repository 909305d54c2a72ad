"""The HTML report of the sample data in a real headless browser (Debian's chromium, installed by .ci/run).

Driven over the DevTools protocol (a stdlib websocket client, below): the page loads from disk, every
chart's SVG has a real size and drawn paths, nothing is fetched from anywhere, no console errors occur,
and a screenshot is not blank.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from backlog_bridge import pipeline
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.ingest.importer import import_paths
from backlog_bridge.pipeline import sample_data_path
from backlog_bridge.plan.rules import load_rules
from backlog_bridge.report.loop import Outcome
from backlog_bridge.report.render import render_html
from backlog_bridge.settings import IngestSettings, Settings
from backlog_bridge.store.db import open_store
from backlog_bridge.store.tables import Theme, TrackerLink
from backlog_bridge.themes import update_themes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RULES = Path(__file__).parent.parent.parent / "rules"
FIX_SHIPPED = datetime(2026, 7, 1, tzinfo=UTC)  # the sample's dashboard fix
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None and os.environ.get("BACKLOG_BRIDGE_TEST_REQUIRE_CHROMIUM") != "1",
        reason="chromium not installed (CI installs Debian's chromium)",
    ),
]


# --- a minimal DevTools client -----------------------------------------------------------------------


class DevTools:
    """Just enough of RFC 6455 and the DevTools protocol for one page: commands in, events kept."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        host_port, path = ws_url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert b" 101 " in response.split(b"\r\n")[0], response
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._receive())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._receive())
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(method)

    def _send(self, text: str) -> None:
        data = text.encode()
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _receive(self) -> str:
        chunks = []
        while True:
            first, second = self._exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(length)
            if first & 0x0F == 0x9:  # ping: answer, keep reading
                continue
            chunks.append(payload)
            if first & 0x80:
                return b"".join(chunks).decode()

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "profile"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,900", "about:blank",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        port = int(active.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        yield tools
        tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# --- the sample data's report --------------------------------------------------------------------------


@pytest.fixture
def sample_report_file(tmp_path, embedder):
    engine = open_store(f"sqlite:///{tmp_path / 'sample.db'}")
    import_paths(engine, [sample_data_path()], IngestSettings(), source="sample", now=AS_OF)
    settings = Settings()
    for moment in (datetime(2026, 5, 31, tzinfo=UTC), FIX_SHIPPED, datetime(2026, 8, 31, tzinfo=UTC), AS_OF):
        window = AnalysisWindow(moment, settings.themes.window_days)
        update_themes(engine, embedder, settings.themes, window)  # as a nightly worker would, over months
    with Session(engine) as session:
        themes = list(session.exec(select(Theme).where(col(Theme.status) == "active")))
        dashboard = max((t for t in themes if "dashboard" in " ".join([t.label, *t.keywords])), key=lambda t: t.size)
        session.add(TrackerLink(tracker="jira", theme_key=dashboard.key, state="closed", issue_key="FB-101",
                                url="https://jira.example.com/browse/FB-101", closed_at=FIX_SHIPPED))  # fmt: skip
        session.commit()
    rules, run = load_rules(RULES), pipeline.run_context(settings, engine, AS_OF)
    plan = pipeline.plan_stage(settings, engine, rules, run.window)
    report = pipeline.report_data(settings, engine, rules, plan, run)
    engine.dispose()
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return report, path


CHART_CHECK = """
JSON.stringify({
  charts: [...document.querySelectorAll("figure.chart")].map(f => {
    const svg = f.querySelector("svg"); const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll("path")].filter(p => (p.getAttribute("d") || "").length > 10);
    return {id: f.id, width: box.width, height: box.height, paths: drawn.length,
            inked: drawn.filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; }).length};
  }),
  scripts: document.scripts.length,
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  articles: document.querySelectorAll("article.theme").length,
  glance: document.querySelector(".glance").innerText,
})
"""


def test_sample_report_renders_in_a_real_browser(browser, sample_report_file):
    report, path = sample_report_file
    # What the lead should see in the first minute, on the sample's known story.
    top = report.themes[0].brief
    assert any(word in " ".join([top.label, *top.keywords]) for word in ("app", "crash", "mobile"))
    assert [v.outcome for v in report.verdicts] == [Outcome.IMPROVED]  # slow dashboards faded after the fix

    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.call(f"{domain}.enable")
    browser.call("Page.navigate", url=path.as_uri())
    browser.wait_for("Page.loadEventFired")
    result = browser.call("Runtime.evaluate", expression=CHART_CHECK, returnByValue=True)
    page = json.loads(result["result"]["value"])
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])

    assert [c["id"] for c in page["charts"]] == ["chart-nps", "chart-impact", "chart-share", "chart-segments"]
    for chart in page["charts"]:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["paths"] > 10 and chart["inked"] > 10, chart
    assert page["scripts"] == 0 and page["overflow"] <= 0
    assert page["articles"] == len(report.themes)
    assert "What hurts most" in page["glance"] and "What past fixes achieved" in page["glance"]

    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [path.as_uri()], "the report must not fetch anything"
    errors = [e for e in browser.events if _is_error(e)]
    assert errors == []

    from PIL import Image

    image = Image.open(io.BytesIO(shot)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.width >= 1000 and image.height > 2000
    assert len(colours) > 50, "screenshot looks blank"
    assert sum(n for n, rgb in colours if rgb[2] > rgb[0] + 60) > 2000, "no blue chart ink"


def _is_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown" or method == "Network.loadingFailed":
        return True
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    return False
