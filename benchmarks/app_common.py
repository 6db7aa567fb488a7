"""What the app benchmarks share: the machine and its load, a browser, page-side timers, statistics, output.

The browser and the server are started through harness/browser.py (Debian's Chromium, never a download).
Every time that matters is taken inside the page with ``performance.now()`` (or converted to the epoch with
``performance.timeOrigin``), so Playwright's round trips are not counted.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

from harness.browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]

BUSY_CPU_PERCENT = 30.0  # another process using more than this of one core makes the machine "not quiet"

# Installed in every page before its own scripts: window.__mapPainted gets the epoch time (ms) of the first
# animation frame after the map with all its points has been drawn: the app's WebGL map (its "draw" event
# fires after the frame that shows the points), or a plotly map (plotly draws WebGL traces synchronously
# inside its plot call, so the frame after the draw is the one that shows the points).
MAP_PAINTED_JS = """
(() => {
  window.__mapPainted = null;
  const check = () => {
    const webgl = globalThis.__latentExplorerMap;  // the app's WebGL map (explorer/app/map_js): drawn once
    if (webgl && webgl.draws > 0) {
      const points = Object.values(webgl.maps).reduce((n, m) => Math.max(n, m.header.n), 0);
      requestAnimationFrame(() => {
        window.__mapPainted = {epoch_ms: performance.timeOrigin + performance.now(), points};
      });
      return;
    }
    const gd = document.querySelector('.js-plotly-plot');
    const L = gd && gd._fullLayout;
    if (gd && gd.calcdata && gd._fullData && gd._fullData.length && L && L._plots && L._plots.xy
        && L._plots.xy._scene && gd.querySelector('canvas.gl-canvas-context')
        && gd._fullData.every(t => t.x && t.x.length)) {
      const points = gd._fullData.reduce((n, t) => n + t.x.length, 0);
      requestAnimationFrame(() => {
        window.__mapPainted = {epoch_ms: performance.timeOrigin + performance.now(), points};
      });
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
"""


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def wait_map_painted(page, timeout_ms: int = 120_000) -> dict:
    """{epoch_ms, points} of the first frame showing the map (needs MAP_PAINTED_JS as an init script)."""
    page.wait_for_function("() => window.__mapPainted !== null", timeout=timeout_ms, polling=50)
    return page.evaluate("() => window.__mapPainted")


def summary(samples: list[float], digits: int = 1) -> dict:
    """Median, p90 (nearest rank), min, max, mean and every sample, rounded."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, max(0, -(-9 * len(ordered) // 10) - 1))]

    def r(v: float) -> float:
        return round(float(v), digits)

    return {"n": len(samples), "median": r(statistics.median(samples)), "p90": r(p90), "min": r(ordered[0]),
            "max": r(ordered[-1]), "mean": r(statistics.fmean(samples)), "samples": [r(v) for v in samples]}


# ---------------------------------------------------------------- memory of a process

def memory_mb(pid: int) -> dict:
    """Resident set now (VmRSS) and its peak over the process's life (VmHWM) in MB, from /proc/<pid>/status.

    (psutil is not needed: on Linux it reads the same file and has no peak.)
    """
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)  # kB -> MB
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


# ---------------------------------------------------------------- the machine and its load

def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cpu_ticks() -> dict[int, tuple[int, str]]:
    """pid -> (utime + stime in clock ticks, command line) for every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (int(fields[11]) + int(fields[12]), cmd or stat.split("(", 1)[1].split(")")[0])
    return out


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (our server, browser and Playwright driver)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo += children.get(p, [])
    return found


def busy_processes(sample_s: float = 2.0, exclude: set[int] | None = None) -> list[dict]:
    """Processes that used more than BUSY_CPU_PERCENT of a core over ``sample_s`` seconds, ours excluded."""
    exclude = (exclude or set()) | _descendants(os.getpid())
    hz = os.sysconf("SC_CLK_TCK")
    before = _cpu_ticks()
    time.sleep(sample_s)
    after = _cpu_ticks()
    busy = []
    for pid, (ticks, cmd) in after.items():
        if pid in exclude or pid not in before:
            continue
        percent = 100.0 * (ticks - before[pid][0]) / hz / sample_s
        if percent > BUSY_CPU_PERCENT:
            busy.append({"pid": pid, "cpu_percent": round(percent), "cmd": cmd[:160]})
    return sorted(busy, key=lambda b: -b["cpu_percent"])


def load() -> dict:
    """The machine's load right now: load averages and the processes keeping a core busy."""
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg_1_5_15": list(os.getloadavg()),
            "busy_processes": busy_processes()}


class LoadMonitor:
    """Samples, in a thread, the processes outside this benchmark that keep a core busy while it runs."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s, self.samples, self.busy = every_s, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples += 1
            for b in busy_processes():
                seen = self.busy.setdefault(b["pid"], {**b, "samples_busy": 0, "max_cpu_percent": 0})
                seen["samples_busy"] += 1
                seen["max_cpu_percent"] = max(seen["max_cpu_percent"], b["cpu_percent"])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> dict:
        others = [{k: v for k, v in b.items() if k != "cpu_percent"} for b in self.busy.values()]
        return {"samples": self.samples, "every_s": self.every_s, "other_busy_processes": others}


def wait_until_quiet(max_wait_s: float, poll_s: float = 30.0) -> dict:
    """Wait (up to ``max_wait_s``) until no other process keeps a core busy; say how long it took."""
    start = time.monotonic()
    while True:
        busy = busy_processes()
        waited = time.monotonic() - start
        if not busy or waited >= max_wait_s:
            return {"waited_s": round(waited), "quiet": not busy, "still_busy": busy}
        print(f"waiting for a quiet machine ({round(waited)} s): {busy}", file=sys.stderr)
        time.sleep(poll_s)


class Conditions:
    """The load a benchmark ran under: optionally wait for quiet first, then load before, during and after."""

    def __init__(self, wait_quiet_s: float = 0.0) -> None:
        self.wait_quiet_s = wait_quiet_s
        self.monitor = LoadMonitor()

    def __enter__(self) -> Self:
        self.quiet = wait_until_quiet(self.wait_quiet_s) if self.wait_quiet_s else None
        self.before = load()
        self.monitor.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.monitor.__exit__(*exc)
        self.after = load()

    def report(self) -> dict:
        return {"waited_for_quiet": self.quiet, "load_before": self.before, "load_during": self.monitor.report(),
                "load_after": self.after}


def machine() -> dict:
    def version(module: str) -> str | None:
        try:
            return __import__(module).__version__
        except ImportError:
            return None

    try:
        chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True,
                                  timeout=30, check=False).stdout.strip()
    except OSError:
        chromium = None
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {"cores": os.cpu_count(), "cpu_model": _cpu_model(), "memory_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "streamlit": version("streamlit"), "plotly": version("plotly"),
            "torch": version("torch"), "playwright": _playwright_version(), "browser": chromium,
            "note": "browser and server share the machine's cores, as on a presenter's laptop"}


def _playwright_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("playwright")
    except PackageNotFoundError:
        return None


def emit(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def add_common_args(parser) -> None:
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="first wait up to this long for no other process to keep a core busy")
