"""A recorded tour: what the presenter did, as the views it passed through and when, in a JSON file.

No streamlit here. A step is the view as the URL holds it (explorer/app/share.py: ``to_params``) and the
seconds since the recording started: a new tab, another model, a pick on the map, the sliders' z (as each
drag is released), the probe's spot, the interpolation's ends and frame. Playback applies the steps in
order, each once, when the clock passes its time (``due``), so it ends on the recorded final state however
late the timer fires; what a late timer costs is the drift (``drift``). An edit is a new tour: steps
reordered by their times, deleted, re-timed, captioned (``edited``).

The file (this module writes and reads it):
    {"format": "latent-explorer-tour", "version": 1, "model": "<folder name>",
     "steps": [{"at": 0.0, "params": {...}, "caption": ""}, ...]}
It is too big for the URL: a saved tour is a file to download and load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

FORMAT = "latent-explorer-tour"
VERSION = 1
UNRECORDED = ("present",)  # turning presentation mode on to play a tour is not part of the tour
MAX_STEPS = 2000  # a recording stops growing here (an hour of a step every two seconds)
MAX_FILE_BYTES = 5_000_000


class TourFileError(ValueError):
    """A tour file that cannot be read; the message says what is wrong and what to do."""


GESTURE_SOURCES = ("sliders", "probe", "path", "map")  # the in-page views whose drags are recorded: the
# live views (explorer/app/live.py) and the probe tool of the main map (explorer/app/map_js/map_probe.js)


@dataclass(frozen=True)
class Step:
    at: float  # seconds from the start of the recording: when the view was this (a drag: when it was released)
    params: dict[str, str]  # the view then, as URL parameters (share.to_params)
    caption: str = ""
    gesture: dict | None = None  # a drag that led here: {"source": a GESTURE_SOURCES, "samples": [[ms, *value], ...]}

    @property
    def start(self) -> float:
        """When the step begins playing: a drag starts its own length before it was released."""
        return max(0.0, self.at - (self.gesture["samples"][-1][0] / 1000 if self.gesture else 0.0))


@dataclass(frozen=True)
class Tour:
    model: str  # the checkpoint folder's name the recording started on
    steps: tuple[Step, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return self.steps[-1].at if self.steps else 0.0

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, "model": self.model,
                           "steps": [{"at": round(s.at, 3), "params": s.params, "caption": s.caption,
                                      **({"gesture": s.gesture} if s.gesture else {})} for s in self.steps]}, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Tour:
        if len(text) > MAX_FILE_BYTES:
            raise TourFileError(f"this file is {len(text):,} bytes; a tour file is at most {MAX_FILE_BYTES:,}")
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise TourFileError(f"not a JSON file ({err}); load a tour saved by Latent Explorer") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TourFileError(f"not a Latent Explorer tour (no \"format\": \"{FORMAT}\"); save one with "
                                "Record, then Save the tour")
        if data.get("version") != VERSION:
            raise TourFileError(f"a tour of version {data.get('version')!r}; this app reads version {VERSION}")
        steps = data.get("steps")
        if not isinstance(steps, list) or not isinstance(data.get("model"), str):
            raise TourFileError("the file has no \"model\" name or no list of \"steps\"")
        read = []
        for k, step in enumerate(steps[:MAX_STEPS]):
            at, params = (step.get("at"), step.get("params")) if isinstance(step, dict) else (None, None)
            if not isinstance(at, (int, float)) or not math.isfinite(at) or at < 0:
                raise TourFileError(f"step {k + 1}: \"at\" must be a time in seconds (0 or more), got {at!r}")
            if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
                raise TourFileError(f"step {k + 1}: \"params\" must be the view's parameters, names to strings")
            read.append(Step(float(at), dict(params), str(step.get("caption", "")), _gesture(step.get("gesture"), k)))
        return cls(data["model"], tuple(sorted(read, key=lambda s: s.at)))

    def edited(self, rows: Sequence[Mapping]) -> Tour:
        """The tour after an edit: ``rows`` are the steps kept, each {"step": its number (1-based) in this
        tour, "at": new seconds, "caption": new caption}; they play in the order of their times."""
        kept = []
        for row in rows:
            k = int(row["step"]) - 1
            if not 0 <= k < len(self.steps):
                raise ValueError(f"no step {k + 1} in a tour of {len(self.steps)}")
            at = float(row.get("at", self.steps[k].at))
            if not math.isfinite(at) or at < 0:
                raise ValueError(f"step {k + 1}: a time is 0 seconds or more, got {row.get('at')!r}")
            kept.append(Step(at, self.steps[k].params, str(row.get("caption") or ""), self.steps[k].gesture))
        return Tour(self.model, tuple(sorted(kept, key=lambda s: s.at)))


def _gesture(value, k: int) -> dict | None:
    if value is None:
        return None
    samples = value.get("samples") if isinstance(value, dict) else None
    if (not isinstance(value, dict) or value.get("source") not in GESTURE_SOURCES or not isinstance(samples, list)
            or not samples or not all(isinstance(p, list) and len(p) >= 2 and all(isinstance(v, (int, float)) for v in p)
                                      for p in samples)):
        raise TourFileError(f"step {k + 1}: \"gesture\" must be {{\"source\": one of {', '.join(GESTURE_SOURCES)}, "
                            "\"samples\": [[ms, value...], ...]}")
    return {"source": value["source"], "samples": samples}


def recordable(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in UNRECORDED}


def record(tour: Tour, params: Mapping[str, str], at: float, gesture: dict | None = None) -> Tour:
    """The tour with the view ``params`` appended at ``at`` seconds, if it differs from the last step's or a drag
    (``gesture``: a GESTURE_SOURCES view's trail, two samples at least) led to it."""
    params = recordable(params)
    if gesture is not None and len(gesture.get("samples") or ()) < 2:
        gesture = None  # a click or a key press: the view alone says it
    if (tour.steps and tour.steps[-1].params == params and gesture is None) or len(tour.steps) >= MAX_STEPS:
        return tour
    return Tour(tour.model, (*tour.steps, Step(max(at, tour.seconds), params, gesture=gesture)))


def due(tour: Tour, elapsed: float, done: int) -> list[int]:
    """The steps to apply now, in order: those after the ``done`` first whose start has passed, up to the first
    that has not (a drag recorded to start before the step ahead of it waits for that one: the order holds)."""
    ready = []
    for k in range(done, len(tour.steps)):
        if tour.steps[k].start > elapsed:
            break
        ready.append(k)
    return ready


def drift(tour: Tour, applied_at: Sequence[float]) -> dict[str, float]:
    """How late the steps began against their recorded starts, in seconds (median and worst)."""
    lateness = sorted(max(0.0, t - s.start) for s, t in zip(tour.steps, applied_at))
    if not lateness:
        return {"median": 0.0, "max": 0.0, "steps": 0}
    return {"median": lateness[len(lateness) // 2], "max": lateness[-1], "steps": len(lateness)}


def changes(before: Mapping[str, str] | None, after: Mapping[str, str]) -> str:
    """What a step changed, in words: 'view Sliders, pick 7' (the first step: 'start')."""
    if before is None:
        return "start: " + ", ".join(f"{k} {after[k]}" for k in ("model", "view") if k in after)
    names = {"proj": "map", "interp": "interpolation", "z": "sliders' z", "legs": "legs' own interpolation",
             "via": "path through"}
    said = [names[k] if k == "z" else f"{names.get(k, k)} {v}" for k, v in after.items() if before.get(k) != v]
    gone = [f"no {names.get(k, k)}" for k in before if k not in after]
    return ", ".join(said + gone) or "no change"


MIN_MOVE_S = 0.1  # a video or offline-file stop takes at least this long to reach
MIN_SAMPLE_S = 0.001  # a drag's samples recorded in the same millisecond still take a moment each


def _drag(step: Step, latent_dim: int) -> list[tuple[float, list[float]]]:
    """A sliders drag that led to ``step``: its recorded z's with their seconds since the drag began; else []."""
    gesture = step.gesture
    if not gesture or gesture.get("source") != "sliders":
        return []  # the probe's, the map's and the scrubber's samples are spots, not z
    return [(sample[0] / 1000, [float(v) for v in sample[1:]]) for sample in gesture["samples"]
            if len(sample) == latent_dim + 1]


def stops(tour: Tour) -> list[dict]:
    """The tour as moves of the sliders' z (the format of the offline file and the video: explorer/tours.py), on
    the recording's own clock: each stop is reached when its step was recorded, after holding at the one
    before until the step began. A sliders drag is replayed sample by sample, as it was dragged; any other
    change of z (a click, a key, the probe's release) is a quick move, MIN_MOVE_S long. A step without z (a tab
    change) keeps the previous z and is a stop only with a caption; a stop's caption is the step's (else what
    it changed)."""
    out: list[dict] = []
    arrived, last_z, before = 0.0, None, None
    for step in tour.steps:
        z = [float(v) for v in step.params["z"].split(",")] if step.params.get("z") else last_z
        caption = step.caption or changes(before, step.params)
        before = step.params
        if z is None or (z == last_z and not step.caption):
            continue
        if not out:
            out.append({"z": z, "caption": caption, "seconds": MIN_MOVE_S})
            arrived, last_z = step.at, z
            continue
        begin = max(arrived, min(step.start, step.at - MIN_MOVE_S))  # an overlap with the stop before: later
        if begin > arrived:
            out[-1]["hold"] = round(begin - arrived, 3)
        drag, length = _drag(step, len(z)), step.at - begin
        scale = length / drag[-1][0] if drag and drag[-1][0] > 0 else 0.0  # squeezed if it had to start later
        previous = 0.0
        for t, value in drag[:-1]:
            if t * scale - previous >= MIN_SAMPLE_S:
                out.append({"z": value, "caption": caption, "seconds": round(t * scale - previous, 3), "through": True})
                previous = round(t * scale, 3)
        out.append({"z": z, "caption": caption, "seconds": max(round(length - previous, 3), MIN_SAMPLE_S)})
        arrived, last_z = max(step.at, begin + MIN_SAMPLE_S), z
    return out
