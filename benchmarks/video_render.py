"""Render time of a tour video (explorer/video.py) per second of tour, split into decode, compose and encode.

    python -m benchmarks.video_render [--models digits fashion-mnist-d16] [--sizes 1280x720 1920x1080]
                                      [--formats mp4 gif] [--out benchmarks/results/video-render-cpu.json]

The tour: TOUR_STOPS stops at the mean codes of test-set classes far apart on the PCA map, TOUR_SECONDS in all
(the first stop is the start, each move takes an equal share), at FPS frames per second (a GIF gets
video.gif_fps(FPS)). Per model, size and format: seconds to render the whole file, that per second of tour
(below 1 renders faster than it plays), and the split: decode (the model's decode of every frame's z and
the map placement), compose (drawing each frame with PIL, the map's dots drawn once) and encode (for MP4,
the time spent waiting on ffmpeg, which encodes alongside in its own process; for GIF, quantising each
frame to the fixed palette and Pillow's LZW). One render each, after one untimed warm-up render; the
machine's load before and after is recorded with the figures.
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.app_common import emit, load, machine
from explorer import checkpoint as ckpt
from explorer import video

TOUR_STOPS = 4
TOUR_SECONDS = 10.0
FPS = 30


def demo_tour(checkpoint: ckpt.Checkpoint, stops: int = TOUR_STOPS, seconds: float = TOUR_SECONDS) -> list[dict]:
    """``stops`` stops at class-mean codes far apart on the PCA map, ``seconds`` long: what a speaker shows first."""
    emb = ckpt.load_embedding(checkpoint.path)
    labelled = [int(k) for k in np.unique(emb.labels) if k >= 0]
    centres = {k: emb.pca[emb.labels == k].mean(axis=0) for k in labelled}
    classes = labelled[:1]
    while len(classes) < min(stops, len(labelled)):  # the class farthest from those chosen: the map is crossed
        classes.append(max((k for k in labelled if k not in classes),
                           key=lambda k: min(np.linalg.norm(centres[k] - centres[c]) for c in classes)))
    names = checkpoint.class_names
    tour = []
    for n, k in enumerate(classes):
        name = names[k] if k < len(names) else str(k)
        caption = f"The average {name}" if n == 0 else f"Moving on to the average {name}"
        tour.append({"z": emb.mu[emb.labels == k].mean(axis=0).tolist(), "caption": caption,
                     "seconds": seconds / (len(classes) - 1)})
    return tour


def figures(checkpoint: ckpt.Checkpoint, tour: list[dict], size: str, fmt: str) -> dict:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = video.render(checkpoint, tour, size=size, fps=FPS, fmt=fmt, timings=timings)
    total = time.perf_counter() - start
    fps = video.gif_fps(FPS) if fmt == "gif" else FPS
    frames = len(video.frames_of(tour, fps))
    return {"frames": frames, "fps": fps, "bytes": len(data), "render_s": round(total, 2),
            "render_s_per_tour_s": round(total / TOUR_SECONDS, 3),
            "split_s_per_tour_s": {k.removesuffix("_s"): round(v / TOUR_SECONDS, 3) for k, v in timings.items()},
            "ms_per_frame": round(1000 * total / frames, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d16"])
    parser.add_argument("--sizes", nargs="+", default=list(video.SIZES))
    parser.add_argument("--formats", nargs="+", default=list(video.FORMATS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/video-render-cpu.json"))
    args = parser.parse_args()
    report = {"benchmark": "video_render", "machine": machine(), "torch_threads": torch.get_num_threads(),
              "tour": {"stops": TOUR_STOPS, "seconds": TOUR_SECONDS, "fps": FPS}, "load_before": load(), "models": {}}
    for model in args.models:
        checkpoint = ckpt.load(Path("trained") / model)
        tour = demo_tour(checkpoint)
        video.render(checkpoint, tour[:2], fps=1, fmt="gif")  # warm-up: torch, fonts, the embedding file cache
        report["models"][model] = {f"{fmt} {size}": figures(checkpoint, tour, size, fmt)
                                   for size in args.sizes for fmt in args.formats}
    report["load_after"] = load()  # the cores are shared: other work slows every figure here
    emit(report, args.out)


if __name__ == "__main__":
    main()
