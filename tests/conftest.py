"""Shared fixtures: the real model loaded once, the real corpus indexed once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.app import Rag
from rag.embed import Embedder, build_embedder
from rag.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
REAL_NOTE = CORPUS / "interview-notes.md"


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The default embedder (the packaged model), loaded once for the whole session."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("model-cache"))
    model = build_embedder(settings)
    model.embed(["load the model now"])
    return model


def make_settings(root: Path, **overrides: object) -> Settings:
    """Settings for a throwaway corpus folder and data folder under `root`."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    return load_settings(**{"corpus_dir": corpus, "data_dir": root / "data", **overrides})


@pytest.fixture
def make_rag(tmp_path: Path, embedder: Embedder):
    """A factory of Rag containers over an empty temp corpus, sharing the session's model."""

    def factory(**overrides: object) -> Rag:
        return Rag(make_settings(tmp_path, **overrides), embedder=embedder)

    return factory


@pytest.fixture(scope="session")
def corpus_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Rag]:
    """The real notes, copied to a temp corpus and indexed once; tests must not modify them."""
    root = tmp_path_factory.mktemp("real")
    settings = make_settings(root)
    shutil.copy(REAL_NOTE, settings.corpus_dir / REAL_NOTE.name)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    yield rag
