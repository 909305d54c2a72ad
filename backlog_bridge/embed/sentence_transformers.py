"""sentence-transformers adapter: loads a model named in a manifest, never from a hub.

The default manifest ships inside the package (`embed/manifest.toml`), so a wheel install themes
from any folder; a team's own manifest (e.g. `models/manifest.toml`) is chosen with `embed.manifest`.

This is the only module that imports `sentence_transformers` and `torch`.
"""

from __future__ import annotations

import importlib
import logging
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from backlog_bridge.errors import ConfigError

logger = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
CHUNK_BATCHES = 8
"""Texts are encoded this many batches at a time, and progress reported after each chunk."""

DEFAULT_MANIFEST = Path(__file__).resolve().parent / "manifest.toml"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the manifest, resolved to a folder on disk.

    Attributes:
        name: the key under `[models]`.
        path: folder holding the sentence-transformers model.
        dim: the vector size the manifest declares; checked after loading.
        description: free text for humans.
    """

    name: str
    path: Path
    dim: int
    description: str = ""


def load_manifest(manifest: Path = DEFAULT_MANIFEST) -> tuple[str, dict[str, ModelSpec]]:
    """Read the manifest: the default model's name and every model it declares.

    Raises:
        ConfigError: the file is missing or malformed, or an entry lacks a usable `dim`/location.
    """
    if not manifest.is_file():
        raise ConfigError(f"model manifest not found: {manifest}")
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{manifest}: invalid TOML: {exc}") from exc
    entries = data.get("models")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{manifest}: no [models.<name>] tables")
    specs = {name: _parse_entry(manifest, name, entry) for name, entry in entries.items()}
    default = data.get("default")
    if not isinstance(default, str) or default not in specs:
        raise ConfigError(f"{manifest}: default = {default!r} is not one of {sorted(specs)}")
    return default, specs


def _parse_entry(manifest: Path, name: str, entry: Any) -> ModelSpec:
    where = f"{manifest}: models.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    dim = entry.get("dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
        raise ConfigError(f"{where}.dim: must be a positive integer, got {dim!r}")
    if ("package" in entry) == ("path" in entry):
        raise ConfigError(f"{where}: give exactly one of 'package' or 'path'")
    if "package" in entry:
        path = _package_model_path(where, str(entry["package"]))
    else:
        # `path = "models/<name>"` reads from the project root (the manifest's folder's parent),
        # whatever the working directory, so the CLI can run from anywhere.
        path = (manifest.parent.parent / str(entry["path"])).resolve()
    return ModelSpec(name=name, path=path, dim=dim, description=str(entry.get("description", "")))


def _package_model_path(where: str, package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise ConfigError(f"{where}.package: cannot import {package!r} (is it installed?)") from exc
    get_path = getattr(module, "get_model_path", None)
    if get_path is None:
        raise ConfigError(f"{where}.package: {package!r} has no get_model_path()")
    return Path(get_path())


def resolve_device(device: Device, cuda_available: bool | None = None) -> str:
    """Pick the torch device: "auto" means CUDA when present, else CPU.

    Args:
        device: the setting value.
        cuda_available: override for the probe (tests); None asks torch.

    Raises:
        ConfigError: an unknown value, or "cuda" asked for on a machine without it.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"embedding device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
    if device == "cuda" and not cuda_available:
        raise ConfigError("embedding device 'cuda' requested but torch sees no CUDA device")
    if device == "auto":
        return "cuda" if cuda_available else "cpu"
    return device


class SentenceTransformerEmbedder:
    """Embedder backed by a local sentence-transformers model.

    Example:
        >>> embedder = SentenceTransformerEmbedder()  # the manifest's default model
        >>> embedder.encode(["the app crashes on login"]).shape
        (1, 384)
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        manifest: Path = DEFAULT_MANIFEST,
        device: Device = "auto",
        batch_size: int = 64,
        show_progress: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Load the model from disk and check its dimension against the manifest.

        Args:
            model: a name under `[models]` in the manifest; None takes its `default`.
            manifest: the manifest file; relative `path` entries resolve against its folder.
            device: "auto" (CUDA if available), "cpu" or "cuda".
            batch_size: texts per forward pass; larger is faster on GPU, costs memory.
            show_progress: show sentence-transformers' own progress bar while encoding.
            progress: called with (done, total) texts as encoding goes on, in chunks of a few
                batches: the CLI's progress bar on a terminal, log lines otherwise.

        Raises:
            ConfigError: unknown model, missing folder, load failure or dimension mismatch.
        """
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size must be >= 1, got {batch_size}")
        default, specs = load_manifest(manifest)
        name = model or default
        if name not in specs:
            raise ConfigError(f"{manifest}: unknown embedding model {name!r}; known: {sorted(specs)}")
        spec = specs[name]
        if not spec.path.is_dir():
            raise ConfigError(f"{manifest}: models.{name}: model folder not found: {spec.path}")
        self.name = name
        self.dim = spec.dim
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.progress = progress
        self._model = _load_model(spec, self.device)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts in order; rows are L2-normalised float32."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Always in the same chunks, progress or not: vectors depend slightly on which texts share a
        # batch, so the CLI (with progress) and the library (without) must chunk alike.
        step = self.batch_size * CHUNK_BATCHES
        report = self.progress or (lambda done, total: None)
        report(0, len(texts))
        parts = []
        for start in range(0, len(texts), step):
            parts.append(self._encode(texts[start : start + step]))
            report(min(start + step, len(texts)), len(texts))
        return np.concatenate(parts)

    def _encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def _load_model(spec: ModelSpec, device: str) -> Any:
    # Belt and braces: local_files_only stops hub look-ups, the env var stops anything else in HF.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own progress bar is enough
    import transformers

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(spec.path), device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load embedding model {spec.name!r} from {spec.path}: {exc}") from exc
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    actual = get_dim()
    if actual != spec.dim:
        raise ConfigError(
            f"embedding model {spec.name!r} at {spec.path} gives {actual}-d vectors, "
            f"but the manifest declares dim = {spec.dim}"
        )
    logger.debug("embed.model-loaded", extra={"model": spec.name, "device": device, "dim": actual})
    return model
