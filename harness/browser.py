"""Drive the real app in Debian's Chromium with Playwright: start the server, open pages, click the map.

Shared by the end-to-end test and scripts/screenshots.py. Never downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(env: dict[str, str] | None = None):
    """Run `streamlit run streamlit_app.py` on 127.0.0.1 and a free port; yield its URL."""
    with app_process(env) as (url, _):
        yield url


@contextlib.contextmanager
def app_process(env: dict[str, str] | None = None, poll_s: float = 0.2, script: Path = ROOT / "streamlit_app.py"):
    """Like app_server, but yield (URL, the server's Popen): benchmarks read its pid and time its start.

    ``script``: another Streamlit page to serve the same way (a benchmark's reference page).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    server = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start:\n" + server.stdout.read().decode(errors="replace"))
                time.sleep(poll_s)
        yield url, server
    finally:
        stop(server)


def stop(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Ask a child process to end, and kill it if it has not within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def browser_page(url: str, width: int = 1600, height: int = 900):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            _WIRES[page] = Wire(page)
            page.goto(url)
            wait_idle(page)
            yield page
        finally:
            browser.close()


class Wire:
    """What goes over a page's websocket: bytes received, and the server's script runs, full or fragment.

    Runs are counted from the server's own ScriptFinished messages, not from the page's script-state
    attribute: a fragment run takes ~20 ms on the server, and the page may batch "running" and "finished"
    into one render, so the attribute can skip "running" altogether (a run the tests would not see).
    Counts are up to date after any Playwright call on the page (events arrive while Playwright waits).
    """

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # here: only browser tests need it

        self._decode = ForwardMsg.FromString
        self.received = 0
        self.runs = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        self.received += len(payload)
        if isinstance(payload, bytes) and self._decode(payload).WhichOneof("type") == "script_finished":
            self.runs += 1


_WIRES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def wire(page) -> Wire:
    """The websocket counters of a page opened by browser_page (they count from before its first load)."""
    page.wait_for_timeout(0)  # let events that already arrived be delivered
    return _WIRES[page]


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script has finished its run (the page may briefly look idle before a rerun starts)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


# [x, y] on the page of the rightmost point of trace ``trace`` of plotly chart ``chart``: an outlier, so nothing covers it.
MAP_POINT_JS = """([chart, trace]) => {
    const gd = document.querySelectorAll('.js-plotly-plot')[chart];
    const t = gd._fullData[trace % gd._fullData.length];
    let k = 0;
    for (let j = 1; j < t.x.length; j++) if (t.x[j] > t.x[k]) k = j;
    const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
    const L = gd._fullLayout;
    return [box.left + L.xaxis.d2p(t.x[k]), box.top + L.yaxis.d2p(t.y[k])];
}"""


# The WebGL map (explorer/app/map_js/map_view.js): its view object is the root element's leView.
MAP = ".le-map"
MAP_CANVAS = ".le-map canvas.le-map-canvas"  # the points (the atlas has a canvas of its own beneath)
# Every point of the WebGL map: [test-set id, x, y] in page pixels, from the library's own screen positions.
WEBGL_POINTS_JS = """(root) => {
    const v = root.leView, box = v.canvas.getBoundingClientRect(), out = [];
    for (let p = 0; p < v.map.ids.length; p++) {
        const [x, y] = v.plot.getScreenPosition(p);
        out.push([v.map.ids[p], box.left + x, box.top + y]);
    }
    return out;
}"""


def webgl_map_points(page) -> list[tuple[int, float, float]]:
    """[(id, x, y)] of every point drawn on the WebGL map, in page pixels (after its first draw)."""
    root = page.locator(MAP).first
    root.wait_for()
    page.wait_for_function("(el) => Number(el.dataset.draws) > 0 && el.leView.plot", arg=root.element_handle())
    return [tuple(p) for p in root.evaluate(WEBGL_POINTS_JS)]


def rightmost_webgl_point(page) -> tuple[int, float, float]:
    """The rightmost point of the WebGL map (an outlier, so no other point covers it) inside the canvas."""
    deadline = time.monotonic() + 20
    while True:  # a map being redrawn (a rerun, a resize) may briefly have its points outside its canvas
        box = page.locator(MAP_CANVAS).bounding_box()
        inside = [p for p in webgl_map_points(page) if box["x"] + 4 < p[1] < box["x"] + box["width"] - 4
                  and box["y"] + 4 < p[2] < box["y"] + box["height"] - 4]
        if inside:
            return max(inside, key=lambda p: p[1])
        if time.monotonic() > deadline:
            raise AssertionError(f"no point of the WebGL map lies inside its canvas {box}")
        page.wait_for_timeout(250)


def use_plotly_map(page) -> None:
    """Draw the main map with Plotly (Map settings in the sidebar): its box select, its mode bar."""
    page.get_by_text("Map settings").click()
    page.get_by_text("Plotly (box select)").click()
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot .nsewdrag")


CLICK_TRIES, PICK_WAIT_MS = 3, 20_000


def click_webgl_point(page, point_id: int) -> bool:
    """Click the WebGL map's point ``point_id`` until the map marks it as the pick (True), or give up (False).

    A click that lands while a rerun redraws the map is lost on a loaded machine (CI lost one in 30 s): the
    view is reset (a lost click may have moved it) and the point, found again where it is now, clicked again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    root = page.locator(MAP).first
    for _ in range(CLICK_TRIES):
        x, y = next((px, py) for i, px, py in webgl_map_points(page) if i == point_id)
        page.mouse.click(x, y)
        wait_idle(page)
        try:
            page.wait_for_function("([el, id]) => el.dataset.marked === String(id)",
                                   arg=[root.element_handle(), point_id], timeout=PICK_WAIT_MS)
            return True
        except PlaywrightTimeout:
            root.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_timeout(500)
    return False  # the caller's own assertion says what is missing


def click_map_point(page, chart_index: int = 0) -> int | None:
    """Click an outlying point of the main map (the WebGL map, or the plotly chart ``chart_index``).

    Returns the clicked point's test-set id on the WebGL map (None on a plotly chart).
    """
    page.wait_for_selector(f"{MAP}, .js-plotly-plot .nsewdrag")
    if page.locator(MAP).count():
        point_id, _, _ = rightmost_webgl_point(page)
        click_webgl_point(page, point_id)
        return point_id
    page.wait_for_selector(".js-plotly-plot .nsewdrag")
    page.wait_for_timeout(1000)  # plotly settles after a rerun before it takes clicks
    x, y = page.evaluate(MAP_POINT_JS, [chart_index, 0])
    page.mouse.click(x, y)
    wait_idle(page)
    return None
