"""The tour format, read by the offline page (explorer/standalone.py) and the video renderer (explorer/video.py).

A tour is a JSON list of stops, each ``{"z": [latent_dim floats], "caption": str, "seconds": float}``, and
optionally ``"hold": float`` and ``"through": true``. The first stop is where the tour starts; ``seconds`` is
how long the move to a stop takes (ignored on the first); ``hold`` is how long to stay at a stop once reached
(default 0). A ``through`` stop is a point the move to the next stop passes through (a recorded drag's
samples): it has no ring on the map, is not counted as a stop, and Next skips it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from explorer.errors import ExplorerError

TOUR_SECONDS = 2.0  # a stop without "seconds" takes this long to reach
STOP_EXAMPLE = '{"z": [...], "caption": "...", "seconds": 2}'


class TourError(ExplorerError, ValueError):
    """A tour that cannot be played; the message names the stop and what to change."""


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


def validate(tour: Any, latent_dim: int) -> list[dict[str, Any]]:
    """The tour with its defaults filled in (``hold`` only where given), or TourError saying which stop is wrong."""
    if tour is None:
        return []
    if not isinstance(tour, list):
        raise TourError(f"a tour is a JSON list of stops, each {STOP_EXAMPLE}")
    stops = []
    for k, stop in enumerate(tour):
        z = stop.get("z") if isinstance(stop, dict) else None
        if not isinstance(z, list) or len(z) != latent_dim or not all(isinstance(v, (int, float)) for v in z) \
                or not all(math.isfinite(v) for v in z):
            raise TourError(f"tour stop {k + 1}: \"z\" must be a list of {latent_dim} finite numbers "
                            f"(the model's latent_dim)")
        seconds = stop.get("seconds", TOUR_SECONDS)
        if not _positive(seconds):
            raise TourError(f"tour stop {k + 1}: \"seconds\" must be a positive number, got {seconds!r}")
        checked = {"z": [float(v) for v in z], "caption": str(stop.get("caption", "")), "seconds": float(seconds)}
        if "hold" in stop:
            hold = stop["hold"]
            if not (hold == 0 or _positive(hold)):
                raise TourError(f"tour stop {k + 1}: \"hold\" must be a number of seconds >= 0, got {hold!r}")
            checked["hold"] = float(hold)
        if stop.get("through"):
            checked["through"] = True
        stops.append(checked)
    return stops


def numbered(stops: list[dict[str, Any]]) -> list[int]:
    """Per stop, the number (from 1) of the stop it is, or, for a ``through`` stop, of the stop it leads to."""
    real = list(itertools.accumulate(0 if s.get("through") else 1 for s in stops))  # real stops up to each
    count = max(real[-1], 1) if real else 1
    return [min(real[k] + (1 if s.get("through") else 0), count) or 1 for k, s in enumerate(stops)]
