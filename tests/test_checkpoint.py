"""Checkpoint folders: round trip, and a clear refusal of everything that is not one."""

import dataclasses
import json
import pickle

import pytest
import torch

from explorer import checkpoint as ckpt
from explorer.config import ModelConfig, TrainConfig
from explorer.errors import CheckpointError
from explorer.model import VAE

CONFIG = ModelConfig(image_shape=(1, 8, 8), latent_dim=3, hidden_dims=(8, 16), fc_dim=16)


def write_checkpoint(folder, config=CONFIG, seed=0):
    torch.manual_seed(seed)
    model = VAE(config)
    ckpt.save_config(folder, config, TrainConfig(dataset="digits"), tuple("0123456789"))
    ckpt.save_weights(folder, model)
    return model


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "run"


def test_round_trip_gives_equal_weights_and_equal_outputs(folder):
    model = write_checkpoint(folder).eval()
    loaded = ckpt.load(folder)
    assert loaded.model_config == CONFIG and loaded.dataset == "digits" and loaded.class_names[3] == "3"
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], tensor, rtol=0, atol=0)
    z = torch.randn(4, CONFIG.latent_dim)
    x = torch.rand(4, *CONFIG.image_shape)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.decode(z), model.decode(z), rtol=0, atol=0)
        torch.testing.assert_close(loaded.model.encode(x)[0], model.encode(x)[0], rtol=0, atol=0)


def test_loaded_model_is_in_eval_mode_and_frozen(folder):
    write_checkpoint(folder)
    model = ckpt.load(folder).model
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_listing_finds_only_checkpoint_folders(tmp_path):
    write_checkpoint(tmp_path / "b")
    write_checkpoint(tmp_path / "a")
    (tmp_path / "notes").mkdir()
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["a", "b"]


@pytest.mark.parametrize("missing,words", [(ckpt.CONFIG_FILE, "config.json"), (ckpt.WEIGHTS_FILE, "model.safetensors")])
def test_a_missing_file_is_named(folder, missing, words):
    write_checkpoint(folder)
    (folder / missing).unlink()
    with pytest.raises(CheckpointError, match=words):
        ckpt.load(folder)


def test_weights_from_another_model_are_refused_with_the_mismatch(folder, tmp_path):
    write_checkpoint(folder)
    other = tmp_path / "other"
    write_checkpoint(other, dataclasses.replace(CONFIG, latent_dim=5))
    (folder / ckpt.WEIGHTS_FILE).write_bytes((other / ckpt.WEIGHTS_FILE).read_bytes())
    with pytest.raises(CheckpointError, match="do not fit.*wrong shapes"):
        ckpt.load(folder)


class Boom:
    def __reduce__(self):  # unpickling this would run code: it must never happen
        return (pytest.fail, ("a pickle was loaded",))


def test_a_pickle_is_never_unpickled(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
    pt_file = tmp_path / "model.pt"
    pt_file.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="never unpickles"):
        ckpt.load(pt_file)
    write_checkpoint(folder)
    (folder / ckpt.WEIGHTS_FILE).write_bytes(pickle.dumps(Boom()))  # a pickle under the right name
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        ckpt.load(folder)


@pytest.mark.parametrize(
    "edit,words",
    [
        (lambda c: c.update(format_version=99), "format version 99"),
        (lambda c: c.pop("format"), "not written by Latent Explorer"),
        (lambda c: c["model"].update(architecture="resnet"), "architecture must be one of"),
        (lambda c: c["model"].update(colour="blue"), "no field"),
        (lambda c: c.pop("model"), "lacks its 'model'"),
    ],
)
def test_configs_from_elsewhere_are_refused(folder, edit, words):
    write_checkpoint(folder)
    config = json.loads((folder / ckpt.CONFIG_FILE).read_text())
    edit(config)
    (folder / ckpt.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=words):
        ckpt.load(folder)


def test_corrupt_json_and_wrong_paths_are_clear(folder, tmp_path):
    write_checkpoint(folder)
    (folder / ckpt.CONFIG_FILE).write_text("{ not json")
    with pytest.raises(CheckpointError, match="not readable JSON"):
        ckpt.load(folder)
    with pytest.raises(CheckpointError, match="No checkpoint folder"):
        ckpt.load(tmp_path / "nowhere")
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="is a file"):
        ckpt.load(tmp_path / "weights.safetensors")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(folder):
    write_checkpoint(folder)
    before = (folder / ckpt.WEIGHTS_FILE).read_bytes()

    def half_write(tmp):
        tmp.write_bytes(before[:10])
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        ckpt.atomic_write(folder / ckpt.WEIGHTS_FILE, half_write)
    assert (folder / ckpt.WEIGHTS_FILE).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [ckpt.CONFIG_FILE, ckpt.WEIGHTS_FILE]
    ckpt.load(folder)


def test_a_killed_write_s_temporaries_are_removed_and_nothing_else(tmp_path):
    from explorer import checkpoint as ckpt

    names = [".model.safetensors.k2j4.tmp", ".tmpk1H3Zu", ".tmpnotes", "model.safetensors", "notes.tmp"]
    for name in names:  # ours, safetensors' own (Rust tempfile: ".tmp" + 6), and three that are not temporaries
        (tmp_path / name).write_bytes(b"x")
    ckpt.remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmpnotes", "model.safetensors", "notes.tmp"]
