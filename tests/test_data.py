"""load_dataset: built-in datasets, folders of images, and .npz/.npy arrays."""

import gzip
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from explorer import download
from explorer.data import BUILTIN_DATASETS, FASHION_MNIST_CLASSES, Dataset, canonical_name, load_dataset, split_indices
from explorer.data_arrays import load_class_names
from explorer.download import ENV_VAR, TRAIN_IMAGES, TRAIN_LABELS
from explorer.errors import DataError, DatasetNotFoundError
from explorer.idx import encode_idx
from tests.conftest import SHARED_MNIST

SYSTEM_DATASETS = Path("/usr/share/datasets")
SIDE = 4  # pixels of the small test images


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real system folder, cache or env var unless a test asks for it."""
    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", tmp_path / "system")
    monkeypatch.setattr(download, "CACHE_ROOT", tmp_path / "cache")
    monkeypatch.delenv(ENV_VAR, raising=False)


def everything(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Train and test joined, after checking what every caller relies on."""
    for split in (dataset.train, dataset.test):
        assert split.images.dtype == np.float32 and split.images.flags.c_contiguous
        assert split.images.shape[1:] == dataset.image_shape
        assert 0 <= split.images.min() and split.images.max() <= 1
        assert split.labels.dtype == np.int64 and len(split.labels) == len(split.images)
    return (np.concatenate([dataset.train.images, dataset.test.images]),
            np.concatenate([dataset.train.labels, dataset.test.labels]))


def save(path: Path, image: Image.Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


# ---------------------------------------------------------------- built-in datasets

def test_digits_shape_classes_and_split():
    dataset = load_dataset("digits")
    images, labels = everything(dataset)
    assert dataset.image_shape == (1, 8, 8) and len(images) == 1797 and images.max() == 1
    assert dataset.class_names == tuple(str(d) for d in range(10))
    expected_per_class = np.bincount(labels) * 0.2
    assert np.abs(np.bincount(dataset.test.labels) - expected_per_class).max() <= 1, "the split is stratified"
    assert len(dataset.test.images) == round(1797 * 0.2)


def test_digits_split_is_deterministic_and_disjoint():
    first, again, other = (load_dataset("digits", split_seed=seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first.test.images, again.test.images)
    np.testing.assert_array_equal(first.train.labels, again.train.labels)
    assert not np.array_equal(first.test.images, other.test.images)
    labels = np.concatenate([first.train.labels, first.test.labels])
    train, test = split_indices(labels, test_fraction=0.2, seed=0)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels) == 1797


@pytest.mark.skipif(not (SYSTEM_DATASETS / "fashion-mnist").is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_from_system_folder(monkeypatch):
    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", SYSTEM_DATASETS)
    dataset = load_dataset("fashion-mnist", download=False)
    assert dataset.train.images.shape == (60000, 1, 28, 28) and dataset.test.images.shape == (10000, 1, 28, 28)
    assert dataset.class_names == FASHION_MNIST_CLASSES
    assert np.bincount(dataset.train.labels).tolist() == [6000] * 10


@pytest.mark.skipif(not (SYSTEM_DATASETS / "fashion-mnist").is_dir(), reason="dataset-fashion-mnist not installed")
def test_test_only_reads_the_same_test_split_and_leaves_train_empty(monkeypatch):
    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", SYSTEM_DATASETS)
    for name in ("fashion-mnist", "digits"):
        full, lean = load_dataset(name, download=False), load_dataset(name, download=False, test_only=True)
        assert np.array_equal(lean.test.images, full.test.images) and np.array_equal(lean.test.labels, full.test.labels)
        assert lean.train.images.shape == (0, *full.image_shape) and lean.image_shape == full.image_shape


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared MNIST test files not present")
def test_mnist_from_data_dir(tmp_path, caplog):
    for path in SHARED_MNIST.iterdir():
        shutil.copy(path, tmp_path)
    # the full training set is not available offline: stand in a tiny uncompressed one, which only an
    # upstream md5 could check, so it is used with a warning
    (tmp_path / TRAIN_IMAGES).write_bytes(encode_idx(np.zeros((3, 28, 28), dtype=np.uint8)))
    (tmp_path / TRAIN_LABELS).write_bytes(encode_idx(np.array([0, 1, 9], dtype=np.uint8)))
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert "Cannot verify" in caplog.text
    assert dataset.test.images.shape == (10000, 1, 28, 28) and dataset.class_names[9] == "9"


def test_idx_images_and_labels_counts_must_agree(tmp_path, monkeypatch):
    # registry entries with only an (unmatchable) md5: these synthetic files are used unverified
    files = tuple(download.RemoteFile(name, gz_md5="0" * 32) for name in download.IDX_FILE_NAMES)
    monkeypatch.setitem(download.REMOTE_DATASETS, "mnist", download.RemoteDataset(files, mirrors=()))
    for name in download.IDX_FILE_NAMES:
        array = np.zeros(2, np.uint8) if "labels" in name else np.zeros((3, 28, 28), np.uint8)
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(encode_idx(array)))
    with pytest.raises(DataError, match="3 images.*2 labels.*download them again"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_remote_dataset_not_on_disk_and_download_forbidden():
    with pytest.raises(DatasetNotFoundError, match="--data-dir"):
        load_dataset("mnist", download=False)


@pytest.mark.parametrize("kwargs, words", [
    ({"test_fraction": 0}, "test_fraction"),
    ({"test_fraction": 1.5}, "test_fraction"),
    ({"image_size": 0}, "image_size \\(--image-size\\) must be a positive"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(DataError, match=words):
        load_dataset("digits", **kwargs)


def test_unknown_name_lists_the_builtins(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_dataset(str(tmp_path / "nope"))
    assert all(name in str(excinfo.value) for name in BUILTIN_DATASETS)


# ---------------------------------------------------------------- folders of images

GREY = np.arange(SIDE * SIDE, dtype=np.uint8).reshape(SIDE, SIDE) * 15  # (H, W) 0..225
COLOUR = np.stack([GREY, 255 - GREY, np.full_like(GREY, 7)], axis=-1)  # (H, W, 3)
ALPHA = np.where(np.arange(SIDE) % 2 == 0, 255, 0).astype(np.uint8)[None, :].repeat(SIDE, 0)  # stripes


def palette_image() -> Image.Image:
    image = Image.new("P", (SIDE, SIDE))
    image.putpalette([255, 0, 0, 0, 0, 255])  # index 0 red, 1 blue
    image.putdata([0, 1] * (SIDE * SIDE // 2))
    return image


MODE_CASES = {  # name -> (file name, image, expected (C, H, W))
    "L": ("a.png", Image.fromarray(GREY), GREY[None] / 255),
    "RGB": ("a.png", Image.fromarray(COLOUR), COLOUR.transpose(2, 0, 1) / 255),
    "RGB-grey-content": ("a.png", Image.fromarray(np.stack([GREY] * 3, -1)), GREY[None] / 255),
    "RGBA": ("a.png", Image.fromarray(np.dstack([COLOUR, ALPHA])), COLOUR.transpose(2, 0, 1) / 255 * (ALPHA / 255)),
    "LA": ("a.png", Image.fromarray(np.dstack([GREY, ALPHA])), GREY[None] / 255 * (ALPHA / 255)),
    "P": ("a.png", palette_image(), np.array([[1, 0, 0], [0, 0, 1]] * (SIDE * SIDE // 2)).T.reshape(3, SIDE, SIDE)),
    "I;16": ("a.png", Image.fromarray(GREY.astype(np.uint16) * 257), GREY[None] / 255),
    "CMYK": ("a.tif", Image.fromarray(COLOUR).convert("CMYK"), COLOUR.transpose(2, 0, 1) / 255),
    "JPEG-grey": ("a.jpg", Image.fromarray(np.full((SIDE, SIDE), 128, np.uint8)), np.full((1, SIDE, SIDE), 128 / 255)),
}


@pytest.mark.parametrize("case", MODE_CASES)
def test_image_modes(tmp_path, case):
    file_name, image, expected = MODE_CASES[case]
    for copy in ("one", "two"):  # two images: one for each split
        save(tmp_path / copy / file_name, image)
    images, _ = everything(load_dataset(str(tmp_path)))
    assert images.shape == (2, *expected.shape)
    np.testing.assert_allclose(images[0], expected, atol=1e-2 if file_name.endswith(".jpg") else 1e-6)


def test_grey_and_colour_mixed_give_rgb(tmp_path):
    save(tmp_path / "grey.png", Image.fromarray(GREY))
    save(tmp_path / "colour.png", Image.fromarray(COLOUR))
    dataset = load_dataset(str(tmp_path), test_fraction=0.5)
    images, _ = everything(dataset)
    assert dataset.image_shape == (3, SIDE, SIDE)
    grey = next(image for image in images if np.array_equal(image[0], image[1]))
    np.testing.assert_allclose(grey, np.stack([GREY / 255] * 3), atol=1e-6)


def test_sub_folders_are_classes_and_loose_images_unlabelled(tmp_path):
    files = {"dog/a.png": 10, "cat/b.png": 20, "cat/deeper/c.png": 30, "loose.png": 40}  # path -> pixel value
    for name, value in files.items():
        save(tmp_path / name, Image.fromarray(np.full((SIDE, SIDE), value, np.uint8)))
    (tmp_path / "empty-class").mkdir()
    dataset = load_dataset(str(tmp_path))
    images, labels = everything(dataset)
    assert dataset.class_names == ("cat", "dog")
    label_of_value = {round(float(image.max()) * 255): label for image, label in zip(images, labels)}
    assert label_of_value == {10: 1, 20: 0, 30: 0, 40: -1}


def test_mixed_sizes_resized_to_most_common(tmp_path, caplog):
    for index, side in enumerate([SIDE, SIDE, SIDE, 2 * SIDE]):
        save(tmp_path / f"{index}.png", Image.fromarray(np.full((side, side), 200, np.uint8)))
    with caplog.at_level(logging.INFO):
        dataset = load_dataset(str(tmp_path))
    assert dataset.image_shape == (1, SIDE, SIDE)
    assert "2 different sizes" in caplog.text and "Pass --image-size to choose another size" in caplog.text
    images, _ = everything(dataset)
    np.testing.assert_allclose(images, 200 / 255, atol=1e-6)  # a flat image stays flat when resized
    assert load_dataset(str(tmp_path), image_size=6).image_shape == (1, 6, 6)


def test_non_image_file_skipped_with_warning(tmp_path, caplog):
    for index in range(2):
        save(tmp_path / f"{index}.png", Image.fromarray(GREY))
    (tmp_path / "notes.txt").write_text("not an image")
    with caplog.at_level(logging.WARNING):
        images, _ = everything(load_dataset(str(tmp_path)))
    assert len(images) == 2 and "notes.txt" in caplog.text


@pytest.mark.parametrize("content", [{}, {"notes.txt": b"text"}], ids=["empty", "no-images"])
def test_folder_without_images(tmp_path, content):
    for name, data in content.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match="holds no images"):
        load_dataset(str(tmp_path))


def test_corrupt_image_named_in_error(tmp_path):
    save(tmp_path / "good.png", Image.fromarray(GREY))
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="broken.png.*remove it"):
        load_dataset(str(tmp_path))


def test_a_file_in_another_pillow_format_behind_an_image_name_is_refused_not_parsed(tmp_path):
    save(tmp_path / "good.png", Image.fromarray(GREY))
    Image.fromarray(GREY).save(tmp_path / "disguised.png", format="TGA")  # Pillow reads TGA; we do not
    with pytest.raises(DataError, match="disguised.png.*remove it"):
        load_dataset(str(tmp_path))


def test_huge_images_need_image_size(tmp_path):
    for index in range(2):
        save(tmp_path / f"{index}.png", Image.new("L", (1100, 2)))
    with pytest.raises(DataError, match="smaller --image-size"):
        load_dataset(str(tmp_path))
    assert load_dataset(str(tmp_path), image_size=8).image_shape == (1, 8, 8)


# ---------------------------------------------------------------- .npz and .npy arrays

ARRAY_CASES = {  # name -> (array, expected image shape (C, H, W), expected maximum)
    "uint8 (N,H,W)": (np.full((4, 5, 6), 255, np.uint8), (1, 5, 6), 1.0),
    "uint8 (N,H,W,1)": (np.full((4, 5, 6, 1), 51, np.uint8), (1, 5, 6), 0.2),
    "uint8 (N,H,W,3)": (np.full((4, 5, 6, 3), 255, np.uint8), (3, 5, 6), 1.0),
    "float32 (N,H,W)": (np.full((4, 5, 6), 0.5, np.float32), (1, 5, 6), 0.5),
    "float64 RGBA over black": (np.full((4, 5, 6, 4), 0.5), (3, 5, 6), 0.25),
    "uint8 (N,C,H,W)": (np.full((4, 3, 5, 6), 255, np.uint8), (3, 5, 6), 1.0),
}


@pytest.mark.parametrize("case", ARRAY_CASES)
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_array_files(tmp_path, case, suffix):
    array, shape, maximum = ARRAY_CASES[case]
    path = tmp_path / f"data{suffix}"
    np.save(path, array) if suffix == ".npy" else np.savez(path, images=array)
    dataset = load_dataset(str(path))
    images, labels = everything(dataset)
    assert dataset.image_shape == shape and len(images) == len(array)
    np.testing.assert_allclose(images.max(), maximum, rtol=1e-6)
    assert (labels == -1).all() and dataset.class_names == ()


def numbered_images(count: int) -> np.ndarray:
    """(N, 2, 2) uint8 where image i is filled with i, so an image tells which label it must carry."""
    return np.arange(count, dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)


@pytest.mark.parametrize("keys", [("images", "labels"), ("x", "y"), ("X", "y")])
def test_npz_labels_stay_with_their_images(tmp_path, keys):
    images = numbered_images(10)
    np.savez(tmp_path / "d.npz", **{keys[0]: images, keys[1]: np.arange(10) % 3})
    dataset = load_dataset(str(tmp_path / "d.npz"), split_seed=3)
    loaded, labels = everything(dataset)
    assert dataset.class_names == ("0", "1", "2")
    np.testing.assert_array_equal(np.round(loaded[:, 0, 0, 0] * 255).astype(int) % 3, labels)


def test_npz_class_names_and_string_labels(tmp_path):
    np.savez(tmp_path / "named.npz", images=numbered_images(4), labels=[0, 1, 0, 1], class_names=["cat", "dog"])
    assert load_dataset(str(tmp_path / "named.npz")).class_names == ("cat", "dog")
    np.savez(tmp_path / "strings.npz", images=numbered_images(4), labels=["dog", "cat", "dog", "cat"])
    assert load_dataset(str(tmp_path / "strings.npz")).class_names == ("cat", "dog")


def test_npy_with_sibling_labels(tmp_path):
    np.save(tmp_path / "digits.npy", numbered_images(6))
    np.save(tmp_path / "digits_labels.npy", np.arange(6) % 2)
    dataset = load_dataset(str(tmp_path / "digits.npy"))
    images, labels = everything(dataset)
    assert dataset.class_names == ("0", "1")
    np.testing.assert_array_equal(np.round(images[:, 0, 0, 0] * 255).astype(int) % 2, labels)


BAD_ARRAYS = {  # name -> (npz contents, words the message must contain)
    "NaN": ({"images": np.array([[[0.5, np.nan]]] * 2)}, "NaN"),
    "inf": ({"images": np.array([[[0.5, np.inf]]] * 2)}, "infinite"),
    "above one": ({"images": np.full((2, 3, 3), 1.5)}, "outside \\[0, 1\\].*divide by 255"),
    "negative": ({"images": np.full((2, 3, 3), -0.1)}, "outside \\[0, 1\\]"),
    "label count": ({"images": numbered_images(5), "labels": np.arange(4)}, "one label per image"),
    "2-D": ({"images": np.zeros((5, 5), np.uint8)}, "shape \\(5, 5\\)"),
    "5 channels": ({"images": np.zeros((2, 5, 5, 5), np.uint8)}, "one of \\(1, 3, 4\\)"),
    "int64 pixels": ({"images": np.zeros((2, 3, 3), np.int64)}, "uint8"),
    "no images key": ({"pixels": np.zeros((2, 3, 3), np.uint8), "meta": np.zeros(2)}, "under the key 'images'"),
    "zero images": ({"images": np.zeros((0, 3, 3), np.uint8)}, "no images"),
    "zero width": ({"images": np.zeros((2, 3, 0), np.uint8)}, "at least one pixel"),
    "one image": ({"images": np.zeros((1, 3, 3), np.uint8)}, "Cannot split"),
}


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_bad_arrays(tmp_path, case):
    contents, words = BAD_ARRAYS[case]
    np.savez(tmp_path / "bad.npz", **contents)
    with pytest.raises(DataError, match=words):
        load_dataset(str(tmp_path / "bad.npz"))


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="without Python objects"):
        load_dataset(str(tmp_path / "objects.npy"))


PIXEL_DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.float16, np.float32, np.float64, np.bool_])
SHAPES = st.one_of(  # mostly near-valid layouts, so that both outcomes are exercised
    st.tuples(st.integers(0, 6), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.integers(0, 6), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)),
    hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
)


@st.composite
def pixel_arrays(draw) -> np.ndarray:
    dtype = np.dtype(draw(PIXEL_DTYPES))
    unit_floats = dtype.kind == "f" and draw(st.booleans())  # else any value: NaN, inf, huge
    elements = st.floats(0, 1, width=8 * dtype.itemsize) if unit_floats else None
    return draw(hnp.arrays(dtype, draw(SHAPES), elements=elements))


@settings(max_examples=80, deadline=None, database=None)
@given(pixel_arrays())
def test_any_array_gives_images_or_a_data_error(array):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.npy"
        np.save(path, array)
        try:
            dataset = load_dataset(str(path))
        except DataError:
            return
    images, labels = everything(dataset)
    assert images.ndim == 4 and images.shape[1] in (1, 3) and len(images) == len(array)


# ---------------------------------------------------------------- data in the shapes people have


def test_an_npz_saved_without_names_loads_its_one_array_as_the_images(tmp_path):
    np.savez(tmp_path / "x.npz", numbered_images(10))  # the ordinary way: one array named arr_0
    dataset = load_dataset(str(tmp_path / "x.npz"))
    assert len(everything(dataset)[0]) == 10 and dataset.class_names == ()
    np.savez(tmp_path / "xy.npz", numbered_images(10), np.arange(10) % 2)  # arr_0, arr_1: images then labels
    images, labels = everything(load_dataset(str(tmp_path / "xy.npz")))
    np.testing.assert_array_equal(np.round(images[:, 0, 0, 0] * 255).astype(int) % 2, labels)


def test_labels_and_class_names_from_their_own_files(tmp_path):
    np.savez(tmp_path / "x.npz", numbered_images(12))
    np.save(tmp_path / "y.npy", np.arange(12) % 3)
    (tmp_path / "names.txt").write_text("cat\ndog\n\nbird\n")
    dataset = load_dataset(str(tmp_path / "x.npz"), labels=str(tmp_path / "y.npy"),
                           class_names=str(tmp_path / "names.txt"))
    images, labels = everything(dataset)
    assert dataset.class_names == ("cat", "dog", "bird")
    np.testing.assert_array_equal(np.round(images[:, 0, 0, 0] * 255).astype(int) % 3, labels)
    np.savez(tmp_path / "y.npz", np.arange(12) % 3)  # a .npz of one array works too
    assert load_dataset(str(tmp_path / "x.npz"), labels=str(tmp_path / "y.npz")).class_names == ("0", "1", "2")


@pytest.mark.parametrize("csv, spec, expected", [
    ("name\ncat\ndog\nbird\n", "names.csv", ("cat", "dog", "bird")),  # the only column
    ("label,name\n2,bird\n0,cat\n1,dog\n", "names.csv", ("cat", "dog", "bird")),  # ordered by its label column
    ("code,english,french\n0,cat,chat\n1,dog,chien\n2,bird,oiseau\n", "names.csv:french", ("chat", "chien", "oiseau")),
])
def test_class_names_from_a_csv(tmp_path, csv, spec, expected):
    (tmp_path / "names.csv").write_text(csv)
    assert load_class_names(str(tmp_path / spec)) == expected


@pytest.mark.parametrize("csv, spec, words", [
    ("code,english,french\n0,cat,chat\n", "names.csv", "Say which one holds the names: --class-names .*names.csv:french"),
    ("name\ncat\n", "names.csv:nom", "no column 'nom'; its columns are name"),
    ("label,name\n0,cat\n0,dog\n", "names.csv", "number the classes 0..1, once each"),
])
def test_a_csv_that_does_not_say_which_names_says_how_to(tmp_path, csv, spec, words):
    (tmp_path / "names.csv").write_text(csv)
    with pytest.raises(DataError, match=words):
        load_class_names(str(tmp_path / spec))


def test_side_files_that_do_not_fit_say_what_to_do(tmp_path):
    np.savez(tmp_path / "x.npz", numbered_images(12))
    np.save(tmp_path / "y.npy", np.arange(11) % 3)
    with pytest.raises(DataError, match="one label per image"):
        load_dataset(str(tmp_path / "x.npz"), labels=str(tmp_path / "y.npy"))
    with pytest.raises(DataError, match="No labels file at .*missing.npy"):
        load_dataset(str(tmp_path / "x.npz"), labels=str(tmp_path / "missing.npy"))
    (tmp_path / "names.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="has no labels, so --class-names has nothing to name"):
        load_dataset(str(tmp_path / "x.npz"), class_names=str(tmp_path / "names.txt"))
    with pytest.raises(DataError, match="comes with its own labels"):
        load_dataset("digits", labels=str(tmp_path / "y.npy"))


@pytest.mark.parametrize("typed", ["Fashion-MNIST", "DIGITS", " Digits "])
def test_a_builtin_name_in_any_case_is_that_dataset(typed):
    assert canonical_name(typed) == typed.strip().lower()
    if typed.strip().lower() == "digits":
        assert load_dataset(typed).name == "digits"


def test_a_misspelt_name_suggests_the_right_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="Did you mean 'fashion-mnist'"):
        load_dataset("fashion_mnist")


@pytest.mark.parametrize("typed", ["./digits", "./digits/"])
def test_a_folder_called_digits_is_reached_with_dot_slash_with_or_without_a_trailing_slash(tmp_path, monkeypatch,
                                                                                          typed):
    monkeypatch.chdir(tmp_path)
    for index in range(4):
        save(tmp_path / "digits" / f"{index}.png", Image.fromarray(GREY))
    dataset = load_dataset(typed)
    assert dataset.name == "./digits" and dataset.image_shape == (1, SIDE, SIDE)  # the folder, not the 8x8 set


def test_labels_for_a_folder_are_refused_with_where_its_classes_come_from(tmp_path):
    for index in range(4):
        save(tmp_path / "images" / f"{index}.png", Image.fromarray(GREY))
    np.save(tmp_path / "y.npy", np.arange(4) % 2)
    with pytest.raises(DataError, match="its classes are its sub-folders.*sub-folder named after the class"):
        load_dataset(str(tmp_path / "images"), labels=str(tmp_path / "y.npy"))
