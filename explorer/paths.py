"""Paths through several latent points: A to B to C and on, optionally looping, linear or spherical per leg.

A path is a curve s -> z(s) with s in [0, legs]: waypoint k sits at s = k, and leg k runs from
waypoint k to k + 1 with its own interpolation. Frames are positions on that curve; ``respace_by_pixels``
moves them so consecutive decoded frames differ by near-equal pixel distance instead of equal s.
``data_distance`` and ``prior_log_density`` say where a path leaves the data. NumPy in and out, no
model and no UI: the decoder is any function from (M, D) codes to (M, ...) images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from explorer.latent import INTERPOLATIONS, INTERPOLATIONS_AT

OVERSAMPLE = 8  # dense samples per output step when measuring pixel arc length
REFINEMENTS = 3  # passes that even out the frames' direct distances after placing them by arc length
DISTANCE_CHUNK = 256  # path points per block when measuring distances to every code (bounds the memory)

Decode = Callable[[np.ndarray], np.ndarray]  # (M, D) codes -> (M, ...) images


@dataclass(frozen=True)
class LatentPath:
    """Frames along a path through waypoints."""

    z: np.ndarray  # (N, D) the frames' codes
    position: np.ndarray  # (N,) each frame's s: waypoint k at s = k, frames in between on leg floor(s)
    waypoint_frames: np.ndarray  # (legs + 1,) index of the frame at each waypoint (a loop's last one is A again)
    modes: tuple[str, ...]  # interpolation of each leg

    @property
    def legs(self) -> int:
        return len(self.modes)


def _waypoints(points: np.ndarray, loop: bool) -> np.ndarray:
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"A path needs at least 2 points as a (K, D) array, got shape {points.shape}")
    return np.concatenate([points, points[:1]]) if loop else points


def leg_modes(mode: str | Sequence[str], legs: int) -> tuple[str, ...]:
    """One interpolation per leg: a single mode for every leg, or one per leg."""
    modes = (mode,) * legs if isinstance(mode, str) else tuple(mode)
    if len(modes) != legs:
        raise ValueError(f"{legs} legs need {legs} interpolation modes, got {len(modes)}")
    for m in modes:
        if m not in INTERPOLATIONS:
            raise ValueError(f"mode must be one of {', '.join(INTERPOLATIONS)}, got {m!r}")
    return modes


def path_at(waypoints: np.ndarray, modes: Sequence[str], position: np.ndarray) -> np.ndarray:
    """The curve through ``waypoints`` (legs + 1, D) at positions s (M,) in [0, legs]: -> (M, D) float64."""
    position = np.asarray(position, np.float64)
    legs = len(waypoints) - 1
    leg = np.clip(np.floor(position).astype(int), 0, legs - 1)  # s = legs belongs to the last leg
    out = np.empty((len(position), waypoints.shape[1]))
    for k in np.unique(leg):
        on_leg = leg == k
        out[on_leg] = INTERPOLATIONS_AT[modes[k]](waypoints[k], waypoints[k + 1], position[on_leg] - k)
    return out


def path_through(points: np.ndarray, steps_per_leg: int, mode: str | Sequence[str] = "linear",
                 loop: bool = False) -> LatentPath:
    """Frames through ``points`` (K, D), ``steps_per_leg`` per leg counting both ends, waypoints shared.

    A loop adds a last leg from the last point back to the first. Two points and no loop give exactly
    ``latent.interpolate(a, b, steps_per_leg, mode)``.
    """
    if steps_per_leg < 2:
        raise ValueError(f"A leg needs at least 2 steps, got {steps_per_leg}")
    waypoints = _waypoints(points, loop)
    legs = len(waypoints) - 1
    modes = leg_modes(mode, legs)
    intervals = steps_per_leg - 1
    position = np.concatenate([[0.0]] + [k + np.linspace(0.0, 1.0, steps_per_leg)[1:] for k in range(legs)])
    z = path_at(waypoints, modes, position)
    z[np.arange(legs + 1) * intervals] = waypoints  # exact codes at the waypoints (no rounding)
    return LatentPath(z.astype(np.float32), position, np.arange(legs + 1) * intervals, modes)


def pixel_steps(images: np.ndarray) -> np.ndarray:
    """L2 distance between consecutive images (N, ...) -> (N - 1,): how much each step changes the picture."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    return np.linalg.norm(np.diff(flat, axis=0), axis=1)


def _share_intervals(lengths: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` frame intervals among legs in proportion to their lengths, at least one each
    (largest remainder), so every waypoint stays a frame."""
    legs = len(lengths)
    spare = total - legs
    weights = lengths / lengths.sum() if lengths.sum() > 0 else np.full(legs, 1.0 / legs)
    ideal = weights * total - 1.0  # what each leg should get beyond its one interval
    share = np.floor(np.clip(ideal, 0, None)).astype(int)
    while share.sum() > spare:  # clipping can over-assign; take back from the longest
        share[np.argmax(share)] -= 1
    order = np.argsort(-(ideal - share), kind="stable")
    share[order[: spare - share.sum()]] += 1
    return share + 1


def respace_by_pixels(path: LatentPath, points: np.ndarray, decode: Decode, loop: bool = False,
                      oversample: int = OVERSAMPLE, refinements: int = REFINEMENTS) -> tuple[LatentPath, np.ndarray]:
    """The same curve and frame count as ``path``, frames moved so decoded neighbours differ equally.

    Decodes a path ``oversample`` times denser, measures the pixel arc length (summed L2 between
    consecutive decoded samples), gives each leg frames in proportion to its arc length (waypoints stay
    frames) and places them at equal arc length within the leg, interpolating s; then up to
    ``refinements`` times re-places them at equal measured frame-to-frame distance, while that helps
    (each costs one decode of the frames). Returns the new path
    and its per-step pixel distances (N - 1,), measured on the decoded output frames.
    """
    waypoints = _waypoints(points, loop)
    legs = path.legs
    total = len(path.z) - 1
    dense_per_leg = max(1, total * oversample // legs)
    dense = np.concatenate([[0.0]] + [k + np.linspace(0.0, 1.0, dense_per_leg + 1)[1:] for k in range(legs)])
    arc = np.concatenate([[0.0], np.cumsum(pixel_steps(decode(path_at(waypoints, path.modes, dense))))])
    bounds = np.arange(legs + 1) * dense_per_leg  # dense index of each waypoint
    shares = _share_intervals(arc[bounds[1:]] - arc[bounds[:-1]], total)
    positions = [np.zeros(1)]
    for k in range(legs):
        leg_arc, leg_s = arc[bounds[k]: bounds[k + 1] + 1], dense[bounds[k]: bounds[k + 1] + 1]
        targets = np.linspace(leg_arc[0], leg_arc[-1], shares[k] + 1)[1:]
        positions.append(np.interp(targets, leg_arc, leg_s) if leg_arc[-1] > leg_arc[0]
                         else k + np.linspace(0.0, 1.0, shares[k] + 1)[1:])
    position = np.concatenate(positions)
    frames_at = np.concatenate([[0], np.cumsum(shares)])
    position[frames_at] = np.arange(legs + 1)  # exactly on the waypoints
    z, steps = _frames(waypoints, path.modes, position, frames_at, decode)
    for _ in range(refinements):
        # Equal arc length is not equal chord: where the picture changes back and forth within a step, the
        # frames' direct distance falls short. Re-place each leg's frames at equal measured chord length.
        moved = position.copy()
        for k in range(legs):
            first, last = frames_at[k], frames_at[k + 1]
            chord = np.concatenate([[0.0], np.cumsum(steps[first:last])])
            if chord[-1] > 0:
                moved[first:last + 1] = np.interp(np.linspace(0.0, chord[-1], last - first + 1), chord,
                                                  position[first:last + 1])
        moved_z, moved_steps = _frames(waypoints, path.modes, moved, frames_at, decode)
        if moved_steps.max() / max(moved_steps.min(), 1e-12) >= steps.max() / max(steps.min(), 1e-12):
            break  # no better: keep what we had
        position, z, steps = moved, moved_z, moved_steps
    return LatentPath(z, position, frames_at, path.modes), steps


def _frames(waypoints: np.ndarray, modes: Sequence[str], position: np.ndarray, frames_at: np.ndarray,
            decode: Decode) -> tuple[np.ndarray, np.ndarray]:
    """Codes (N, D) float32 at ``position``, exact at the waypoints, and their decoded pixel steps (N - 1,)."""
    z = path_at(waypoints, modes, position)
    z[frames_at] = waypoints
    z = z.astype(np.float32)
    return z, pixel_steps(decode(z))


def data_distance(path: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Euclidean distance from each path point (N, D) to its nearest code in ``codes`` (M, D): -> (N,)."""
    path, codes = np.asarray(path, np.float64), np.asarray(codes, np.float64)
    code_norms = (codes**2).sum(axis=1)
    out = np.empty(len(path))
    for start in range(0, len(path), DISTANCE_CHUNK):
        block = path[start: start + DISTANCE_CHUNK]
        squared = (block**2).sum(axis=1)[:, None] + code_norms[None, :] - 2.0 * block @ codes.T
        out[start: start + DISTANCE_CHUNK] = np.sqrt(np.clip(squared.min(axis=1), 0.0, None))
    return out


def prior_log_density(path: np.ndarray) -> np.ndarray:
    """log N(z; 0, I) in nats for each row of ``path`` (N, D): -> (N,)."""
    z = np.asarray(path, np.float64)
    return -0.5 * (z.shape[1] * np.log(2.0 * np.pi) + (z**2).sum(axis=1))


def nearest_other_distance(codes: np.ndarray, sample: int, seed: int = 0) -> np.ndarray:
    """For ``sample`` codes drawn from ``codes`` (M, D), the distance to their nearest other code: (sample,).

    What "close to the data" means for this model: a path point farther from every code than real codes
    are from each other has left the data.
    """
    codes = np.asarray(codes, np.float64)
    chosen = np.random.default_rng(seed).permutation(len(codes))[:sample]
    out = np.empty(len(chosen))
    for start in range(0, len(chosen), DISTANCE_CHUNK):
        ids = chosen[start: start + DISTANCE_CHUNK]
        block = codes[ids]
        squared = (block**2).sum(axis=1)[:, None] + (codes**2).sum(axis=1)[None, :] - 2.0 * block @ codes.T
        squared[np.arange(len(ids)), ids] = np.inf  # not itself
        out[start: start + len(ids)] = np.sqrt(np.clip(squared.min(axis=1), 0.0, None))
    return out
