"""Drive the live views in Chromium: count painted images, server runs and bytes while dragging.

Shared by tests/test_live_browser.py and benchmarks/pad_fps.py. Server runs (full and fragment) and bytes
are counted on the websocket (harness.browser.Wire). Painted images and decode times come from the counters
the live views keep on ``window.__latentExplorer`` (see explorer/app/pad/pad_core.js).
"""

from __future__ import annotations

import math
import time

from harness.browser import open_tab, wait_idle, wire

SETTLE_MS = 1000


def runs(page) -> int:
    """Server script runs (full and fragment) since the page was opened."""
    return wire(page).runs


def stats(page) -> dict:
    return page.evaluate("""() => { const r = window.__latentExplorer || {};
        return { frames: r.frames || 0, decodes: (r.decodeMs || []).length, reports: r.reports || 0,
                 loads: r.loads || 0 }; }""")


def decode_times(page, since: int) -> list[float]:
    """Decode times (ms) recorded after the first ``since`` decodes."""
    return page.evaluate("(n) => (window.__latentExplorer.decodeMs || []).slice(n)", since)


def open_live(page, tab: str, selector: str, timeout_ms: int = 60_000) -> None:
    """Open ``tab`` and wait until its live view has its decoder (its status line says so)."""
    if tab:
        open_tab(page, tab)
    page.locator(selector).first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => (window.__latentExplorer?.frames || 0) > 0", timeout=timeout_ms)
    settle(page)


def settle(page) -> None:
    """Let a rerun on its way finish (the URL of a shared view being written, a button's run): one that lands
    mid-drag remounts the view under the pointer and swallows the release."""
    wait_idle(page)
    page.wait_for_timeout(SETTLE_MS)
    wait_idle(page)


def image_data_url(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("(c) => c.toDataURL()")


def drag(page, box: dict, seconds: float, along: str = "x", start: float = 0.5, amplitude: float = 0.45) -> dict:
    """Press inside ``box`` (a bounding box), sweep back and forth for ``seconds``, and stay pressed.

    Returns what happened while pressed: moves, painted images, server runs. The caller releases.
    """
    cx, cy = box["x"] + box["width"] * start, box["y"] + box["height"] / 2
    if along == "xy":
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before_runs, before = runs(page), stats(page)
    page.mouse.move(cx, cy)
    page.mouse.down()
    moves, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        phase = 2 * math.pi * (time.monotonic() - t0) / 2.0  # one sweep every 2 s
        if along == "x":
            x, y = box["x"] + box["width"] * (0.5 + amplitude * math.sin(phase)), cy
        else:  # a circle over the area: both coordinates change
            x = box["x"] + box["width"] * (0.5 + amplitude * math.cos(phase))
            y = box["y"] + box["height"] * (0.5 + amplitude * math.sin(phase))
        page.mouse.move(x, y)
        moves += 1
    elapsed = time.monotonic() - t0
    after = stats(page)
    return {"seconds": elapsed, "moves": moves, "frames": after["frames"] - before["frames"],
            "decodes_before": before["decodes"], "runs_during_drag": runs(page) - before_runs,
            "reports_during_drag": after["reports"] - before["reports"]}


def release(page, settle_ms: int = 1000, timeout_ms: int = 20_000, let_go=None) -> int:
    """Let go of the mouse (or call ``let_go``); return the server runs that followed (after they settled).

    Waits for the first run however long a busy machine makes it, then long enough for a second one to show.
    """
    before = runs(page)
    (let_go or page.mouse.up)()
    deadline = time.monotonic() + timeout_ms / 1000
    while runs(page) == before and time.monotonic() < deadline:  # no run at all: the caller's assertion says so
        page.wait_for_timeout(50)
    wait_idle(page)
    page.wait_for_timeout(settle_ms)
    wait_idle(page)
    return runs(page) - before


def drag_and_release(page, selector: str, seconds: float, tries: int = 2, **sweep) -> int:
    """Drag over the first ``selector`` for ``seconds`` and let go; return the server runs that followed.

    A drag that gets no run at all was lost to a rerun that remounted the view under the pointer (a loaded
    machine is slow to settle): the page settles and the drag is made again, up to ``tries`` times.
    """
    for _ in range(tries):
        drag(page, page.locator(selector).first.bounding_box(), seconds, **sweep)
        followed = release(page)
        if followed:
            return followed
        settle(page)
    return 0


def release_key(page, key: str) -> int:
    """Let go of a held key; return the server runs that followed (as ``release``)."""
    return release(page, let_go=lambda: page.keyboard.up(key))
