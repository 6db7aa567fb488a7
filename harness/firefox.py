"""Drive Debian's Firefox (firefox-esr) headless over WebDriver BiDi: Playwright cannot drive a stock Firefox.

A minimal client, enough for the standalone page's test: open a page, evaluate JavaScript, move the real
mouse (input.performActions), take a screenshot, and record every request the page makes. Firefox listens
on --remote-debugging-port; the ``websockets`` package (a Playwright dependency) speaks to it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time

from harness.browser import stop

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
START_TIMEOUT_S = 30


class Firefox:
    """One BiDi session with one tab. Every call waits for its answer; events are kept in ``events``."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect  # here: only the Firefox test needs it

        self._ws = connect(url, max_size=None, proxy=None, legacy=True)  # a plain connection, closed by close()
        self._next = 0
        self.events: list[dict] = []
        self.call("session.new", {"capabilities": {}})
        self.context = self.call("browsingContext.getTree", {})["contexts"][0]["context"]

    def call(self, method: str, params: dict) -> dict:
        self._next += 1
        self._ws.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("type") == "event":
                self.events.append(message)
            elif message.get("id") == self._next:
                if message.get("type") == "error":
                    raise RuntimeError(f"{method}: {message.get('error')}: {message.get('message')}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("script.evaluate", {"expression": expression, "target": {"context": self.context},
                                               "awaitPromise": True})
        if result.get("type") == "exception":
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return json.loads(result["result"]["value"]) if result["result"].get("type") == "string" else None

    def value(self, expression: str):
        """``expression``'s value, passed through JSON (BiDi's own serialisation is verbose)."""
        return self.evaluate(f"(async () => JSON.stringify(await ({expression})))()")

    def open(self, url: str, width: int, height: int) -> None:
        self.call("session.subscribe", {"events": ["network.beforeRequestSent"]})
        self.call("browsingContext.setViewport", {"context": self.context, "viewport": {"width": width, "height": height}})
        self.call("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def requested(self) -> list[str]:
        """Every URL the page asked for so far (events arrive with the answers of later calls)."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "network.beforeRequestSent"]

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int, step_ms: int) -> None:
        """The real mouse: press at ``start``, move to ``end`` in ``steps`` moves ``step_ms`` apart, release."""
        moves = [{"type": "pointerMove", "x": round(start[0] + (end[0] - start[0]) * k / steps),
                  "y": round(start[1] + (end[1] - start[1]) * k / steps), "duration": step_ms}
                 for k in range(1, steps + 1)]
        actions = [{"type": "pointerMove", "x": round(start[0]), "y": round(start[1])},
                   {"type": "pointerDown", "button": 0}, *moves, {"type": "pointerUp", "button": 0}]
        self.call("input.performActions", {"context": self.context, "actions": [
            {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("browsingContext.captureScreenshot", {"context": self.context})["data"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def firefox():
    """A headless Firefox with a fresh profile, and a BiDi session on it."""
    if FIREFOX is None:
        raise RuntimeError("Firefox is not installed: apt-get install -y firefox-esr")
    port = _free_port()
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen([FIREFOX, "--headless", "--no-remote", "-profile", profile,
                                    f"--remote-debugging-port={port}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={"MOZ_HEADLESS": "1", "HOME": profile, "PATH": "/usr/bin:/bin"})
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    browser = Firefox(f"ws://127.0.0.1:{port}/session")
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("Firefox did not start its remote-debugging port") from None
                    time.sleep(0.2)
            yield browser
        finally:
            stop(process)
