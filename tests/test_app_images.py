"""The app's pure helpers: images for the screen and downloads, map placement, the decoded plane's grid."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer import projection
from explorer.app import compute, images
from explorer.config import ModelConfig
from explorer.embedding import compute_embedding
from explorer.metrics import Metrics, Scores
from explorer.model import VAE


def ramp(n: int, side: int = 4) -> np.ndarray:
    """(n, 1, side, side) images, image k filled with k / n."""
    return np.repeat(np.linspace(0, 1, n, endpoint=False, dtype=np.float32), side * side).reshape(n, 1, side, side)


def test_upscaling_turns_every_pixel_into_a_crisp_block():
    image = np.array([[0, 255], [128, 64]], dtype=np.uint8)
    big = images.upscale(image, 3)
    assert big.shape == (6, 6) and set(np.unique(big[:3, :3])) == {0} and set(np.unique(big[3:, 3:])) == {64}


def test_display_brings_small_images_near_the_target_size():
    assert images.display(ramp(1, 8)[0], 280).shape == (280, 280)
    assert images.display(ramp(1, 28)[0], 280).shape == (280, 280)


def test_grid_places_images_row_by_row_with_gaps():
    mosaic = images.grid(ramp(6), cols=3, factor=2, gap=1)
    assert mosaic.shape == (2 * 8 + 1, 3 * 8 + 2)
    assert mosaic[0, 0] == 0 and mosaic[9, 0] == images.to_uint8(ramp(6))[3, 0, 0]  # second row starts at image 3
    assert (mosaic[8] == images.GAP_VALUE).all()


def test_png_and_gif_bytes_decode_to_the_frames_given():
    strip = images.strip(ramp(5), factor=3)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(images.png_bytes(strip)))), strip)
    gif = Image.open(io.BytesIO(images.gif_bytes(ramp(5), factor=3)))
    assert gif.n_frames == 8 and gif.size == (12, 12) and gif.info.get("loop") == 0
    gif.seek(4)  # the last frame going forward is image 4
    assert np.asarray(gif.convert("L"))[0, 0] == images.to_uint8(ramp(5))[4, 0, 0]


@pytest.mark.skipif(images.mp4_writer_problem() is not None, reason="needs a working imageio-ffmpeg")
@pytest.mark.parametrize("shape", [(5, 1, 7, 7), (3, 3, 8, 8)])
def test_mp4_bytes_play_back_as_the_frames_given(shape):
    import imageio_ffmpeg

    frames = np.random.default_rng(0).random(shape, dtype=np.float32)
    data = images.mp4_bytes(frames, factor=8)
    path = Path(tempfile.mkdtemp()) / "clip.mp4"
    path.write_bytes(data)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    decoded = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    side = shape[-1] * 8
    assert tuple(meta["size"]) == (side + side % 2, side + side % 2)  # H.264 4:2:0 wants even sides
    assert len(decoded) == 2 * shape[0] - 2  # forward then back, as the GIF
    want = images.upscale(images.to_uint8(frames[-1:])[0], 8).astype(float)
    got = decoded[shape[0] - 1][:side, :side].astype(float)
    got = got.mean(axis=-1) if want.ndim == 2 else got
    assert np.abs(got - want).mean() < 6  # the last frame going forward is the last image (lossy, close)


def test_colour_images_keep_their_channels():
    rgb = np.random.default_rng(0).random((2, 3, 5, 5), dtype=np.float32)
    assert images.grid(rgb, cols=2).shape == (5, 11, 3)
    assert Image.open(io.BytesIO(images.gif_bytes(rgb))).n_frames == 2


@pytest.fixture(scope="module")
def embedding(digits):
    torch_model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=3, architecture="mlp", hidden_dims=(16,)))
    return compute_embedding(torch_model.eval(), digits.test.images, digits.test.labels, tsne=False)


def test_pca_placement_is_exact_and_tsne_placement_sits_among_neighbours(embedding):
    assert np.allclose(projection.make("pca", embedding).place(embedding.mu[:5]), embedding.pca[:5], atol=1e-5)
    fake_tsne = embedding.pca * 10
    embedding = dataclasses.replace(embedding, tsne=fake_tsne)
    placed = projection.make("tsne", embedding).place(embedding.mu[:1])
    spread = np.linalg.norm(fake_tsne - fake_tsne.mean(axis=0), axis=1).mean()
    assert np.linalg.norm(placed[0] - fake_tsne[0]) < spread


def test_the_plane_grid_is_square_and_maps_back_onto_the_pca_plane(embedding):
    grid, (x0, x1, y0, y1) = compute.plane_grid(embedding.pca, 5)
    assert grid.shape == (25, 2) and x1 - x0 == pytest.approx(y1 - y0)
    assert grid[0, 1] > grid[-1, 1] and grid[0, 0] < grid[4, 0]  # top-left first, like an image
    pca = projection.make("pca", embedding)
    assert np.allclose(pca.place(pca.inverse(grid)), grid, atol=1e-4)


def test_kl_falls_back_to_the_posterior_when_metrics_lack_it(embedding):
    from_posterior = compute.kl_per_dim(Metrics(), embedding)
    assert from_posterior.shape == (3,) and (from_posterior >= 0).all()
    recorded = Metrics(test=Scores(neg_elbo=6.0, recon=0.0, kl=6.0, kl_per_dim=(1.0, 2.0, 3.0)))
    assert compute.kl_per_dim(recorded, embedding).tolist() == [1, 2, 3]


def test_the_core_and_the_pure_app_helpers_never_import_streamlit():
    modules = ["explorer.checkpoint", "explorer.embedding", "explorer.latent", "explorer.train", "explorer.cli",
               "explorer.data", "explorer.evaluate", "explorer.app.images", "explorer.app.compute", "explorer.app.plots",
               "explorer.app.uploads", "explorer.app.attributes", "explorer.app.exports"]
    code = f"import sys; [__import__(m) for m in {modules!r}]; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
