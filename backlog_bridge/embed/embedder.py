"""The `Embedder` contract: what the cluster step needs from any embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors whose cosine similarity reflects meaning.

    Implementations return a float32 array of shape `(len(texts), dim)` with every row
    L2-normalised, so a dot product is a cosine similarity and the clusterer never re-normalises.
    An empty input gives an array of shape `(0, dim)`.
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed `texts` in order; one normalised row per text."""
        ...
