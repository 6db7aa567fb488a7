"""A tour (explorer/tours.py) rendered to a video, MP4 or GIF, offline: ``render(checkpoint, tour) -> bytes``.

No streamlit here. Each frame shows the decoded image large (nearest-neighbour, crisp) on the left, the map of
the test codes (class-coloured dots, drawn once) with the moving marker and a faint trail on the right, a
caption bar with the current stop's caption at the bottom and the model's name as a title at the top.

Timing: the tour starts at its first stop (whose ``seconds`` is ignored), stays ``hold`` seconds at each stop
and moves to the next in a straight line in latent space over that stop's ``seconds``. For a tour of T
seconds at ``fps`` frames per second there are ``round(T * fps) + 1`` frames, frame i at time min(i / fps, T):
the first frame is the first stop and the last frame is the last stop. A frame shows the caption of the stop
it is moving to or holding at.

GIF timing is in 10 ms units and browsers slow down frames shorter than 20 ms, so a GIF runs at
``gif_fps(fps)``: at most GIF_MAX_FPS (25), with a frame duration that is a whole number of 10 ms. Pillow
stores a run of identical frames (a hold) as one frame shown for the run's time, so a GIF can hold fewer
frames than ``frames_of`` gives, and plays for exactly as long. Pillow keeps a GIF's frames in memory until it
writes them (a byte a pixel), so a GIF is refused past GIF_MAX_PIXELS (about 29 s at 1920x1080, 65 s at
1280x720); an MP4 streams to ffmpeg and has no such limit.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer import checkpoint as ckpt
from explorer import projection as projections
from explorer import tours
from explorer.app import images, plots
from explorer.errors import ExplorerError

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}  # the sizes offered: slides and full HD
FORMATS = ("mp4", "gif")
DEFAULT_FPS = 30
MAX_FPS = 60
GIF_MAX_FPS = 25  # 40 ms a frame; GIF delays are whole 10 ms and browsers stretch those under 20 ms
GIF_TICK_MS = 10
GIF_MAX_PIXELS = 1_500_000_000  # Pillow holds every GIF frame (a byte a pixel) until it writes: ~1.5 GB at most
MP4_CRF = 16  # x264 quality (lower is better): greys stay within a few levels of the decoded image
MP4_PRESET = "veryfast"  # against x264's medium: a third less render time at 1080p, the file about the same size
BASE_HEIGHT = 720  # the layout below is in pixels at 720 rows and scales with the frame height

# Layout, in pixels at BASE_HEIGHT rows.
TITLE_HEIGHT = 64
CAPTION_HEIGHT = 110
MARGIN = 24
TITLE_FONT_PX = 30  # readable from the back of a room: nothing under 28 px at 720 rows
CAPTION_FONT_PX = 44
CAPTION_SMALL_FONT_PX = 32  # a caption too long for one line at CAPTION_FONT_PX gets two lines at this size
CAPTION_LINE_SPACING = 1.25
LABEL_FONT_PX = 28
DOT_RADIUS = 2
MARKER_RADIUS = 11
MARKER_RING = 4  # the white ring around the marker, so it stands out on any class colour
MARKER_OUTLINE = 2
TRAIL_WIDTH = 4
TRAIL_HALO = 3  # white either side of the trail: it stays visible over 10,000 dots
STOP_RADIUS = 9  # a ring on the map where each stop is
LEGEND_SWATCH = 18
MAP_PAD = 0.04  # share of the map's extent left empty around the outermost point

BACKGROUND = (255, 255, 255)
BAR_COLOUR = (24, 24, 24)  # title and caption bars
TEXT_COLOUR = (255, 255, 255)
SUBTLE_TEXT = (170, 170, 170)
IMAGE_FRAME = (200, 200, 200)
MAP_BACKGROUND = (248, 248, 248)
TRAIL_COLOUR = (40, 40, 40)
MARKER_COLOUR = (230, 0, 126)  # no class colour is this magenta, so the marker is found by colour alone
MARKER_EDGE = (255, 255, 255)

Progress = Callable[[int, int], None]


class VideoError(ExplorerError, ValueError):
    """A tour that cannot be rendered as asked; the message says what to change."""


def gif_fps(fps: float) -> float:
    """The frame rate a GIF really gets for ``fps`` asked: capped at GIF_MAX_FPS, on the 10 ms grid."""
    ticks = max(round(1000 / min(fps, GIF_MAX_FPS) / GIF_TICK_MS), 1000 // (GIF_MAX_FPS * GIF_TICK_MS))
    return 1000 / (ticks * GIF_TICK_MS)


def _timeline(tour: list[dict[str, Any]], fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) z per frame and (N,) the index of the stop each frame is moving to or holding at."""
    if not tour:
        raise VideoError(f"the tour has no stops: give a JSON list of at least one stop, each {tours.STOP_EXAMPLE}")
    z = np.asarray([stop["z"] for stop in tour], np.float64)  # (S, D)
    holds = np.asarray([stop.get("hold", 0.0) for stop in tour])
    moves = np.asarray([0.0] + [stop["seconds"] for stop in tour[1:]])
    arrive = np.cumsum(moves + np.concatenate([[0.0], holds[:-1]]))  # (S,) when each stop is reached
    leave = arrive + holds  # (S,) when the move on from it starts
    total = float(leave[-1])
    t = np.minimum(np.arange(round(total * fps) + 1) / fps, total)  # (N,)
    stop = np.minimum(np.searchsorted(leave, t, side="left"), len(tour) - 1)  # (N,) moving to or holding at
    move_start = leave[np.maximum(stop - 1, 0)]
    move_seconds = np.maximum(arrive[stop] - move_start, 1e-12)  # > 0 for every stop after the first
    u = np.where(stop == 0, 1.0, np.clip((t - move_start) / move_seconds, 0, 1))  # (N,) share of the move done
    previous = z[np.maximum(stop - 1, 0)]
    frames = (1 - u)[:, None] * previous + u[:, None] * z[stop]  # exact at u = 0 and u = 1
    return frames.astype(np.float32), stop


def frames_of(tour: list[dict[str, Any]], fps: float) -> np.ndarray:
    """(N, D) the latent code of every frame (see the module docstring for N and the timing)."""
    return _timeline(tour, fps)[0]


def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)  # Pillow's bundled font: no system fonts needed offline


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


class Scene:
    """The frame's layout and its parts drawn once; ``frame(image, xy, trail, caption)`` draws one frame."""

    def __init__(self, size: tuple[int, int], image_shape: Sequence[int], coords: np.ndarray, labels: np.ndarray,
                 title: str, map_title: str, class_names: tuple[str, ...] = (), extra_xy: np.ndarray | None = None,
                 stops_xy: np.ndarray | None = None) -> None:
        width, height = size
        s = height / BASE_HEIGHT
        self.size, self.scale = (width, height), s
        self.title_font, self.caption_font = _font(round(TITLE_FONT_PX * s)), _font(round(CAPTION_FONT_PX * s))
        self.caption_small_font = _font(round(CAPTION_SMALL_FONT_PX * s))
        self.label_font = _font(round(LABEL_FONT_PX * s))
        margin, title_h, caption_h = round(MARGIN * s), round(TITLE_HEIGHT * s), round(CAPTION_HEIGHT * s)
        self.caption_box = Box(0, height - caption_h, width, caption_h)
        middle_top, middle_h = title_h + margin, height - title_h - caption_h - 2 * margin
        label_h = round(LABEL_FONT_PX * s * 1.4)
        panel = middle_h - label_h  # the image is a square as tall as the middle band allows
        _, h, w = image_shape
        self.factor = max(1, min(panel // h, panel // w))
        side_h, side_w = h * self.factor, w * self.factor
        self.image_box = Box(margin + (panel - side_w) // 2, middle_top + label_h + (panel - side_h) // 2,
                             side_w, side_h)
        map_left = margin + panel + 2 * margin
        self.legend = [(plots.class_name(int(k), class_names), _hex(plots.class_colour(int(k))))
                       for k in np.unique(labels)]
        swatch = round(LEGEND_SWATCH * s)
        legend_w = swatch + margin // 2 + max(self.label_font.getlength(name) for name, _ in self.legend) + margin
        legend_w = round(legend_w) if len(self.legend) > 1 else 0  # one class needs no key
        self.map_box = Box(map_left, middle_top + label_h, width - map_left - margin - legend_w, panel)

        shown = coords[np.isfinite(coords[:, 0])]
        points = shown if extra_xy is None else np.concatenate([shown, extra_xy])
        low, high = points.min(axis=0), points.max(axis=0)
        pad = (high - low) * MAP_PAD + 1e-9
        self._low, self._span = low - pad, (high - low) + 2 * pad

        self.background = self._draw_background(title, map_title, coords, labels, stops_xy)

    @classmethod
    def of(cls, checkpoint: ckpt.Checkpoint, embedding: Any, proj: projections.Projection, size: tuple[int, int],
           frames_xy: np.ndarray, stops_xy: np.ndarray) -> Scene:
        """The scene ``render`` draws: the map framed to hold the test codes and the whole tour."""
        return cls(size, checkpoint.model_config.image_shape, proj.coords, embedding.labels,
                   title=f"Latent Explorer · {checkpoint.path.name}", map_title=f"map: {proj.label}",
                   class_names=checkpoint.class_names, extra_xy=frames_xy, stops_xy=stops_xy)

    def map_pixel(self, xy: np.ndarray) -> np.ndarray:
        """(M, 2) map coordinates -> (M, 2) pixel positions (x right, y down) in the frame."""
        u = (np.atleast_2d(xy) - self._low) / self._span
        box = self.map_box
        return np.stack([box.left + u[:, 0] * (box.width - 1), box.top + (1 - u[:, 1]) * (box.height - 1)], axis=1)

    def _draw_background(self, title: str, map_title: str, coords: np.ndarray, labels: np.ndarray,
                         stops_xy: np.ndarray | None) -> Image.Image:
        s = self.scale
        frame = Image.new("RGB", self.size, BACKGROUND)
        draw = ImageDraw.Draw(frame)
        title_h = round(TITLE_HEIGHT * s)
        draw.rectangle((0, 0, self.size[0], title_h), fill=BAR_COLOUR)
        draw.text((round(MARGIN * s), title_h // 2), title, font=self.title_font, fill=TEXT_COLOUR, anchor="lm")
        label_y = self.image_box.top - round(LABEL_FONT_PX * s * 0.7)
        draw.text((self.image_box.left, label_y), "decoded image", font=self.label_font, fill=BAR_COLOUR, anchor="lm")
        draw.text((self.map_box.left, label_y), map_title, font=self.label_font, fill=BAR_COLOUR, anchor="lm")
        ring = max(1, round(s))
        i, m = self.image_box, self.map_box
        draw.rectangle((i.left - ring, i.top - ring, i.right + ring - 1, i.bottom + ring - 1), outline=IMAGE_FRAME,
                       width=ring)
        draw.rectangle((m.left, m.top, m.right - 1, m.bottom - 1), fill=MAP_BACKGROUND)
        r = max(1, round(DOT_RADIUS * s))
        shown = np.isfinite(coords[:, 0])
        pixels = self.map_pixel(coords[shown])
        for (x, y), label in zip(pixels, labels[shown]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_hex(plots.class_colour(int(label))))
        if stops_xy is not None:
            ring_r, width = round(STOP_RADIUS * s), max(2, round(2 * s))
            for x, y in self.map_pixel(stops_xy):
                draw.ellipse((x - ring_r, y - ring_r, x + ring_r, y + ring_r), outline=MARKER_EDGE, width=2 * width)
                draw.ellipse((x - ring_r, y - ring_r, x + ring_r, y + ring_r), outline=TRAIL_COLOUR, width=width)
        swatch, row = round(LEGEND_SWATCH * s), round(LABEL_FONT_PX * s * 1.25)
        x = m.right + round(MARGIN * s)
        if len(self.legend) > 1:
            for k, (name, colour) in enumerate(self.legend):
                y = m.top + k * row + row // 2
                draw.rectangle((x, y - swatch // 2, x + swatch, y + swatch // 2), fill=colour)
                draw.text((x + swatch + round(MARGIN * s) // 2, y), name, font=self.label_font, fill=BAR_COLOUR,
                          anchor="lm")
        return frame

    def frame(self, image: np.ndarray, xy: np.ndarray, trail: np.ndarray, caption: str, stop: str) -> Image.Image:
        """One frame: ``image`` (C, H, W) in [0, 1], the marker at map point ``xy`` (2,), ``trail`` (M, 2) behind it."""
        s = self.scale
        frame = self.background.copy()
        tile = images.upscale(images.to_uint8(image[None])[0], self.factor)
        picture = Image.fromarray(tile)  # (H, W) grey or (H, W, 3) colour
        frame.paste(picture.convert("RGB"), (self.image_box.left, self.image_box.top))
        draw = ImageDraw.Draw(frame)
        if len(trail) > 1:
            points = [tuple(p) for p in self.map_pixel(trail)]
            line = max(1, round(TRAIL_WIDTH * s))
            draw.line(points, fill=MARKER_EDGE, width=line + 2 * round(TRAIL_HALO * s), joint="curve")
            draw.line(points, fill=TRAIL_COLOUR, width=line, joint="curve")
        (x, y), = self.map_pixel(xy)
        outer, inner = round((MARKER_RADIUS + MARKER_RING) * s), round(MARKER_RADIUS * s)
        edge = outer + max(1, round(MARKER_OUTLINE * s))
        draw.ellipse((x - edge, y - edge, x + edge, y + edge), fill=TRAIL_COLOUR)  # a dark rim: stands out on pale dots
        draw.ellipse((x - outer, y - outer, x + outer, y + outer), fill=MARKER_EDGE)
        draw.ellipse((x - inner, y - inner, x + inner, y + inner), fill=MARKER_COLOUR)
        c = self.caption_box
        draw.rectangle((c.left, c.top, c.right, c.bottom), fill=BAR_COLOUR)
        margin = round(MARGIN * s)
        draw.text((c.right - margin, c.top + c.height // 2), stop, font=self.label_font, fill=SUBTLE_TEXT, anchor="rm")
        stop_w = draw.textlength(stop, font=self.label_font)
        font, lines = self.caption_lines(caption, c.width - 3 * margin - stop_w)
        step = font.size * CAPTION_LINE_SPACING
        for k, line in enumerate(lines):
            y = c.top + c.height / 2 + (k - (len(lines) - 1) / 2) * step
            draw.text((c.left + margin, y), line, font=font, fill=TEXT_COLOUR, anchor="lm")
        return frame

    def caption_lines(self, text: str, width: float) -> tuple[ImageFont.FreeTypeFont, list[str]]:
        """One line at the caption size if it fits, else up to two smaller lines, the last cut with an ellipsis."""
        if self.caption_font.getlength(text) <= width:
            return self.caption_font, [text]
        font, words = self.caption_small_font, text.split()
        first: list[str] = []
        while words and font.getlength(" ".join(first + words[:1])) <= width:
            first.append(words.pop(0))
        if not first:  # one word longer than the line
            return font, [_fit(text, font, width)]
        return font, [" ".join(first)] + ([_fit(" ".join(words), font, width)] if words else [])


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels on one line."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    key = size if isinstance(size, str) else f"{size[0]}x{size[1]}"
    if key not in SIZES:
        raise VideoError(f"a video of {key} is not offered: choose one of {', '.join(SIZES)}")
    return SIZES[key]


def _projection(key: str, embedding: Any, latent_dim: int) -> projections.Projection:
    offered = projections.available(latent_dim)
    if key not in offered:
        raise VideoError(f"the {key!r} map is not offered for a {latent_dim}-D model: "
                         f"choose one of {', '.join(offered)}")
    try:
        return projections.make(key, embedding)
    except ValueError as err:  # t-SNE never computed for this checkpoint
        raise VideoError(f"{err} `python -m explorer evaluate` caches t-SNE; or use the pca map") from err


class _Mp4:
    def __init__(self, size: tuple[int, int], fps: float) -> None:
        import imageio_ffmpeg

        self._folder = tempfile.TemporaryDirectory()
        self.path = Path(self._folder.name) / "tour.mp4"
        self._writer = imageio_ffmpeg.write_frames(
            str(self.path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=2,
            ffmpeg_log_level="error", quality=None,
            output_params=["-crf", str(MP4_CRF), "-preset", MP4_PRESET, "-movflags", "+faststart"])
        self._writer.send(None)  # start ffmpeg

    def add(self, frame: Image.Image) -> None:
        self._writer.send(np.ascontiguousarray(np.asarray(frame)))

    def finish(self) -> bytes:
        self._writer.close()
        try:
            if not self.path.is_file() or self.path.stat().st_size == 0:
                raise VideoError("ffmpeg wrote no video: reinstall imageio-ffmpeg "
                                 "(pip install --force-reinstall imageio-ffmpeg)")
            return self.path.read_bytes()
        finally:
            self._folder.cleanup()


class _Gif:
    """Frames quantised to one fixed palette (greys for the image and text, the map's colours), so the
    frames share it, PIL stores only what changed between them, and no frame's colours flicker."""

    def __init__(self, fps: float) -> None:
        self.duration_ms = round(1000 / fps)
        colours = [BACKGROUND, BAR_COLOUR, TEXT_COLOUR, SUBTLE_TEXT, IMAGE_FRAME, MAP_BACKGROUND, TRAIL_COLOUR,
                   MARKER_COLOUR, MARKER_EDGE, _hex(plots.UNLABELLED_COLOUR), *map(_hex, plots.CLASS_COLOURS)]
        greys = [(v, v, v) for v in np.linspace(0, 255, 256 - len(colours)).round().astype(int)]
        palette = [channel for colour in colours + greys for channel in colour]
        self._palette = Image.new("P", (1, 1))
        self._palette.putpalette(palette)
        self._frames: list[Image.Image] = []

    def add(self, frame: Image.Image) -> None:
        self._frames.append(frame.quantize(palette=self._palette, dither=Image.Dither.NONE))

    def finish(self) -> bytes:
        buffer = io.BytesIO()
        first, *rest = self._frames
        first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=self.duration_ms, loop=0)
        return buffer.getvalue()


def render(source: str | Path | ckpt.Checkpoint, tour: Any, *, size: str | tuple[int, int] = (1280, 720),
           fps: float = DEFAULT_FPS, fmt: str = "mp4", projection: str = "pca", progress: Progress | None = None,
           timings: dict[str, float] | None = None) -> bytes:
    """The tour as an MP4 (H.264, yuv420p) or GIF, one frame per ``frames_of(tour, fps)`` row (a GIF: at gif_fps).

    ``progress(done, total)`` is called after each frame. ``timings``, when given, is filled with the seconds
    spent decoding, composing frames and encoding (for MP4, the time blocked on ffmpeg, which runs alongside).
    """
    if fmt not in FORMATS:
        raise VideoError(f"unknown video format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not (isinstance(fps, (int, float)) and 0 < fps <= MAX_FPS):
        raise VideoError(f"fps must be a number above 0 and at most {MAX_FPS}, got {fps!r}")
    width, height = parse_size(size)
    if fmt == "mp4":
        problem = images.mp4_writer_problem()
        if problem:
            raise VideoError(f"MP4 cannot be written here: {problem}. Reinstall imageio-ffmpeg, which brings its "
                             "own ffmpeg (pip install imageio-ffmpeg), or ask for a GIF")
    checkpoint = source if isinstance(source, ckpt.Checkpoint) else ckpt.load(source)
    latent_dim = checkpoint.model_config.latent_dim
    try:
        stops = tours.validate(tour, latent_dim)
    except tours.TourError as err:
        raise VideoError(str(err)) from err
    frame_fps = gif_fps(fps) if fmt == "gif" else fps
    z, stop_of_frame = _timeline(stops, frame_fps)
    if fmt == "gif" and len(z) * width * height > GIF_MAX_PIXELS:
        longest = GIF_MAX_PIXELS / (width * height) / frame_fps
        raise VideoError(f"a GIF of {len(z) / frame_fps:.0f} s at {width}x{height} would need "
                         f"{len(z) * width * height / 2**30:.1f} GB of memory to write: GIFs here go up to "
                         f"{longest:.0f} s at this size; render an MP4 (which streams) or a shorter tour")
    if not checkpoint.embedding_path.is_file():
        raise VideoError(f"{checkpoint.path} has no {ckpt.EMBEDDING_FILE} for the map: run "
                         f"`python -m explorer evaluate {checkpoint.path}` first")
    embedding = ckpt.load_embedding(checkpoint.path)
    proj = _projection(projection, embedding, latent_dim)
    spent = {"decode_s": 0.0, "compose_s": 0.0, "encode_s": 0.0}

    start = time.perf_counter()
    pictures = checkpoint.model.decode_array(z)  # (N, C, H, W)
    xy = proj.place(z)  # (N, 2)
    spent["decode_s"] += time.perf_counter() - start

    start = time.perf_counter()
    ringed = np.asarray([s["z"] for s in stops if not s.get("through")])  # a drag's samples get no ring
    scene = Scene.of(checkpoint, embedding, proj, (width, height), xy, proj.place(ringed))
    number, count = tours.numbered(stops), len(ringed)
    spent["compose_s"] += time.perf_counter() - start
    start = time.perf_counter()
    writer = _Mp4((width, height), frame_fps) if fmt == "mp4" else _Gif(frame_fps)
    spent["encode_s"] += time.perf_counter() - start
    total = len(z)
    for i in range(total):
        start = time.perf_counter()
        k = int(stop_of_frame[i])
        frame = scene.frame(pictures[i], xy[i], xy[:i + 1], stops[k]["caption"], f"stop {number[k]} of {count}")
        middle = time.perf_counter()
        writer.add(frame)
        spent["compose_s"] += middle - start
        spent["encode_s"] += time.perf_counter() - middle
        if progress is not None:
            progress(i + 1, total)
    start = time.perf_counter()
    data = writer.finish()
    spent["encode_s"] += time.perf_counter() - start
    if timings is not None:
        timings.update(spent)
    return data
