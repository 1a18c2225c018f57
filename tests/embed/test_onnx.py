"""OnnxEmbedder against the sentence-transformers reference, on the real model and notes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.embed import onnx as onnx_embed
from rag.embed.base import packaged_model_path
from rag.embed.onnx import OnnxEmbedder, weights_key
from rag.embed.reference import SentenceTransformerEmbedder
from rag.errors import InvalidInput, RagError

ROOT = Path(__file__).resolve().parents[2]
REAL_NOTE = ROOT / "corpus" / "interview-notes.md"
LONG_TEXT = "Inheritance lets a child class reuse and extend its parent's behaviour. " * 40


def corpus_passages(per_passage: int = 4) -> list[str]:
    """The real notes as ~300 passages: runs of paragraphs (split at blank lines)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", REAL_NOTE.read_text()) if p.strip()]
    return ["\n\n".join(paragraphs[i : i + per_passage]) for i in range(0, len(paragraphs), per_passage)]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder per session, so each precision is exported at most once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def fp32(onnx_cache: Path) -> OnnxEmbedder:
    model = OnnxEmbedder(packaged_model_path(), onnx_cache, "fp32")
    model.embed(["export and load now"])
    return model


@pytest.fixture(scope="session")
def int8(onnx_cache: Path) -> OnnxEmbedder:
    model = OnnxEmbedder(packaged_model_path(), onnx_cache, "int8")
    model.embed(["export and load now"])
    return model


@pytest.fixture(scope="session")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(packaged_model_path()))


@pytest.fixture(scope="session")
def passages() -> list[str]:
    return corpus_passages()


@pytest.fixture(scope="session")
def reference_vectors(reference: SentenceTransformerEmbedder, passages: list[str]) -> np.ndarray:
    return reference.embed(passages)


def test_ids_and_limits(fp32: OnnxEmbedder, int8: OnnxEmbedder, reference: SentenceTransformerEmbedder):
    assert fp32.id == reference.id == "all-MiniLM-L6-v2:fp32"
    assert int8.id == "all-MiniLM-L6-v2:int8"
    assert fp32.max_tokens == int8.max_tokens == reference.max_tokens == 256


def test_fp32_matches_reference(fp32: OnnxEmbedder, passages: list[str], reference_vectors: np.ndarray):
    assert 250 <= len(passages) <= 400
    vectors = fp32.embed(passages)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(passages), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference_vectors).sum(axis=1)
    assert cosines.min() >= 0.9999, f"worst passage {int(cosines.argmin())}: {cosines.min():.6f}"


def test_int8_stays_close(int8: OnnxEmbedder, passages: list[str], reference_vectors: np.ndarray):
    vectors = int8.embed(passages)
    assert vectors.shape == (len(passages), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference_vectors).sum(axis=1)
    assert cosines.mean() >= 0.99, f"mean {cosines.mean():.5f}, min {cosines.min():.5f}"


def test_batching_keeps_order(fp32: OnnxEmbedder, passages: list[str]):
    texts = [passages[3], "short", passages[0] * 3, "", passages[3]]
    together = fp32.embed(texts)
    one_by_one = np.vstack([fp32.embed([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_array_equal(together[0], together[4])


def test_empty_input(fp32: OnnxEmbedder):
    assert fp32.embed([]).shape == (0, 384)


def test_count_tokens_matches_reference(fp32: OnnxEmbedder, reference: SentenceTransformerEmbedder):
    texts = ["", "x", "What does super().__init__() do?", "naïve café — 日本語 😀", LONG_TEXT]
    counts = [fp32.count_tokens(text) for text in texts]
    assert counts == [reference.count_tokens(text) for text in texts]
    assert counts[0] == 2  # [CLS] and [SEP]
    assert counts[-1] > 256  # counting never truncates


def test_unknown_precision_is_refused(onnx_cache: Path):
    with pytest.raises(InvalidInput):
        OnnxEmbedder(packaged_model_path(), onnx_cache, "fp16")


def test_runs_without_torch(fp32: OnnxEmbedder, onnx_cache: Path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.embed.base import packaged_model_path\n"
        "from rag.embed.onnx import OnnxEmbedder\n"
        f"model = OnnxEmbedder(packaged_model_path(), Path({str(onnx_cache)!r}), 'fp32')\n"
        "assert model.embed(['x']).shape == (1, 384)\n"
        "model.count_tokens('x')\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_first_use_from_many_threads_loads_once(fp32: OnnxEmbedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch):
    opened: list[Path] = []
    real_open = onnx_embed.open_session
    monkeypatch.setattr(onnx_embed, "open_session", lambda path: opened.append(path) or real_open(path))
    model = OnnxEmbedder(packaged_model_path(), onnx_cache, "fp32")
    texts = ["threads share one session", LONG_TEXT]
    results: list[np.ndarray] = []
    workers = [threading.Thread(target=lambda: results.append(model.embed(texts))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(opened) == 1
    assert len(results) == 4
    for vectors in results:
        np.testing.assert_allclose(vectors, fp32.embed(texts), atol=1e-5)


def fake_build(source: Path, calls: list[Path]):  # type: ignore[no-untyped-def]
    """A stand-in for the export: copies an already built file (saves ~10 s per test)."""

    def build(model_dir: Path, dest: Path, precision: str) -> Path:
        calls.append(dest)
        shutil.copyfile(source, dest)
        return dest

    return build


def test_changed_weights_trigger_rebuild(fp32: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import rag.embed.export

    model_dir = tmp_path / "model"
    shutil.copytree(packaged_model_path(), model_dir)
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(fp32.model_path(), cache / fp32.model_path().name)
    calls: list[Path] = []
    monkeypatch.setattr(rag.embed.export, "build_onnx_model", fake_build(fp32.model_path(), calls))

    OnnxEmbedder(model_dir, cache, "fp32").embed(["same weights: the cached file is reused"])
    assert calls == []

    weights = model_dir / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # the low byte of the last float: different weights, a different key
    weights.write_bytes(bytes(data))
    stale = OnnxEmbedder(model_dir, cache, "fp32")
    stale.embed(["new weights: rebuild"])
    assert calls == [stale.model_path()]
    assert stale.model_path() != cache / fp32.model_path().name

    OnnxEmbedder(model_dir, cache, "fp32").embed(["built once, then reused"])
    assert len(calls) == 1


def test_unreadable_cached_file_is_rebuilt(fp32: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import rag.embed.export

    model = OnnxEmbedder(packaged_model_path(), tmp_path, "fp32")
    model.model_path().write_bytes(b"not an onnx model")
    calls: list[Path] = []
    monkeypatch.setattr(rag.embed.export, "build_onnx_model", fake_build(fp32.model_path(), calls))
    assert model.embed(["x"]).shape == (1, 384)
    assert calls == [model.model_path()]


def test_weights_hash_is_memoised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    key = weights_key(model_dir, tmp_path)

    def no_hashing(path: Path) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(onnx_embed, "_sha256", no_hashing)
    assert weights_key(model_dir, tmp_path) == key
    (model_dir / "model.safetensors").write_bytes(b"new weights")
    with pytest.raises(AssertionError, match="hashed again"):
        weights_key(model_dir, tmp_path)


def test_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import rag.embed.export

    def broken_export(model_dir: Path, out: Path) -> Path:
        out.write_bytes(b"half a model")  # what a crash mid-export leaves behind
        return out

    monkeypatch.setattr(rag.embed.export, "export_transformer", broken_export)
    model = OnnxEmbedder(packaged_model_path(), tmp_path, "fp32")
    with pytest.raises(RagError, match="RAG_EMBED_BACKEND=torch"):
        model.embed(["x"])
    assert not model.model_path().exists()
    assert [p.name for p in tmp_path.iterdir()] == ["weights-sha256.json"]


def test_cached_models_are_fused(fp32: OnnxEmbedder, int8: OnnxEmbedder):
    import onnx

    from rag.embed.export import op_counts

    assert op_counts(onnx.load(str(fp32.model_path())))["Attention"] == 6
    int8_ops = op_counts(onnx.load(str(int8.model_path())))
    assert int8_ops["QAttention"] == 6
    assert int8_ops["MatMulInteger"] > 0
