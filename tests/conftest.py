"""Shared fixtures: small datasets and configs that train in well under a second per epoch."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from explorer.config import ModelConfig, TrainConfig
from explorer.data import load_dataset
from tests.app_support import MediaRecorder

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist-t10k"  # tests only, never at run time


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture
def tiny_model_config():
    return ModelConfig(latent_dim=4, architecture="mlp", hidden_dims=(64,))


@pytest.fixture
def tiny_train_config():
    return TrainConfig(dataset="digits", epochs=3, batch_size=64, embed_tsne=False, device="cpu")


@pytest.fixture
def media(monkeypatch):
    """Every image and download the app hands to Streamlit, by media id (AppTest cannot fetch them)."""
    recorder = MediaRecorder()
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id",
                        recorder.wrap(MemoryMediaFileStorage.load_and_get_id))
    monkeypatch.setattr(MediaFileManager, "add_deferred", recorder.wrap_deferred(MediaFileManager.add_deferred))
    return recorder
