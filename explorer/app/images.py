"""Pure image helpers for the app: uint8 conversion, crisp upscaling, grids, strips, PNG, GIF and MP4 bytes.

No streamlit here, so everything is testable on plain arrays. Images come in as the model emits
them: (N, C, H, W) float in [0, 1]; they go out as (H, W) or (H, W, 3) uint8 arrays or encoded bytes.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

DISPLAY_SIDE = 280  # pixels: an inspector-sized image on a projector
GAP_VALUE = 255  # separating lines between tiles are white, so dark images stay apart


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] -> (N, H, W) uint8 for grey, (N, H, W, 3) for colour."""
    images = np.asarray(images, dtype=np.float32)
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    if pixels.shape[1] == 1:
        return pixels[:, 0]
    return pixels.transpose(0, 2, 3, 1)


def scale_factor(side: int, target: int = DISPLAY_SIDE) -> int:
    """Whole-number factor that brings a ``side``-pixel image near ``target`` pixels (at least 1)."""
    return max(1, round(target / max(side, 1)))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of one (H, W) or (H, W, 3) image: every pixel becomes a factor x factor block.

    Browsers smooth small images when they stretch them; blocks keep 8x8 digits crisp on a projector.
    """
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def display(images: np.ndarray, target: int = DISPLAY_SIDE) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) float -> one upscaled uint8 image about ``target`` pixels high."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    pixels = to_uint8(images)[0]
    return upscale(pixels, scale_factor(pixels.shape[0], target))


def grid(images: np.ndarray, cols: int, factor: int = 1, gap: int = 1) -> np.ndarray:
    """(N, C, H, W) float -> one uint8 mosaic with ``cols`` columns, tiles upscaled by ``factor``.

    ``gap`` pixels (after upscaling) separate the tiles; 0 gives a seamless mosaic (the decoded plane).
    """
    return mosaic([upscale(tile, factor) for tile in to_uint8(images)], cols, gap)


def mosaic(tiles, cols: int, gap: int = 1) -> np.ndarray:
    """Equal-sized uint8 tiles ((H, W) or (H, W, 3)) -> one image with ``cols`` columns, row by row,
    ``gap`` white pixels apart (an unfilled last row stays white)."""
    if not len(tiles):
        raise ValueError("grid() needs at least one image")
    rows = -(-len(tiles) // cols)
    h, w = tiles[0].shape[:2]
    shape = (rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, *tiles[0].shape[2:])
    out = np.full(shape, GAP_VALUE, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tile
    return out


def strip(images: np.ndarray, factor: int = 1, gap: int = 2) -> np.ndarray:
    """(N, C, H, W) float -> one row of N tiles: the interpolation filmstrip."""
    return grid(images, cols=len(images), factor=factor, gap=gap)


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W) or (H, W, 3) uint8 -> PNG file bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(images: np.ndarray, factor: int = 1, frame_ms: int = 120, bounce: bool = True) -> bytes:
    """(N, C, H, W) float -> an endlessly looping animated GIF, one frame per image.

    ``bounce`` plays the frames forward then back (A -> B -> A), so the loop has no jump.
    """
    frames = [upscale(frame, factor) for frame in to_uint8(images)]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    pictures = [Image.fromarray(frame) for frame in frames]  # grey stays "L": GIF keeps all 256 levels
    if frames[0].ndim == 3:
        pictures = [p.quantize(colors=256) for p in pictures]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0,
                     disposal=1)
    return buffer.getvalue()


@functools.cache
def mp4_writer_problem() -> str | None:
    """Why MP4 cannot be written here (None when it can), learnt once per process by encoding 2 frames.

    The MP4 button encodes on click, and a download made on click cannot show an error: a broken
    ffmpeg would give the user nothing, silently. So the app asks first (about 0.1 s, once) and says
    why instead of offering a button that cannot work.
    """
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        return "imageio-ffmpeg, its writer, is not installed (pip install imageio-ffmpeg)"
    try:
        mp4_bytes(np.zeros((2, 1, 4, 4), np.float32))
    except Exception as err:  # noqa: BLE001  a program outside our code: any failure, one message
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return f"its encoder, ffmpeg, failed here ({type(err).__name__}: {first})"
    return None


def mp4_bytes(images: np.ndarray, factor: int = 1, frame_ms: int = 120, bounce: bool = True) -> bytes:
    """(N, C, H, W) float -> an H.264 MP4 (yuv420p, plays in browsers and slide software), one frame per image.

    The same frames and timing as ``gif_bytes``. H.264 with 4:2:0 colour needs even sides, so an odd side
    gets one white pixel more (no resampling: the upscaled pixels stay crisp).
    """
    import imageio_ffmpeg  # here: an optional dependency (see mp4_writer_problem)

    frames = [upscale(frame, factor) for frame in to_uint8(images)]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    h, w = frames[0].shape[:2]
    rgb = np.full((len(frames), h + h % 2, w + w % 2, 3), GAP_VALUE, dtype=np.uint8)
    for out, frame in zip(rgb, frames):
        out[:h, :w] = frame[..., None] if frame.ndim == 2 else frame
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "animation.mp4"
        writer = imageio_ffmpeg.write_frames(str(path), (rgb.shape[2], rgb.shape[1]), fps=1000 / frame_ms,
                                             codec="libx264", macro_block_size=2, ffmpeg_log_level="error",
                                             output_params=["-crf", "12", "-movflags", "+faststart"], quality=None)
        writer.send(None)  # start ffmpeg
        for frame in rgb:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        if not path.is_file() or path.stat().st_size == 0:  # ffmpeg ran but wrote nothing (not ffmpeg?)
            raise RuntimeError(f"{imageio_ffmpeg.get_ffmpeg_exe()} wrote no video")
        return path.read_bytes()
