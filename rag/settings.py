"""Settings: one object, read from RAG_* environment variables (and `.env`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import InvalidInput

# Nothing may reach the network: set before any hub-aware library is imported.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


class Settings(BaseSettings):
    """Every knob of notes-rag; CLI flags override these."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("./corpus"), description="The notes folder that is indexed.")
    data_dir: Path = Field(Path("./.rag"), description="Embedded Chroma's folder and caches.")
    chroma_url: str | None = Field(None, description="Use a Chroma server at this URL.")
    collection: str = Field("notes", description="Chroma collection name.")
    embed_model: str = Field("", description="sentence-transformers model name or path; empty = packaged.")
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: ONNX Runtime for the packaged model, torch otherwise."
    )
    embed_precision: Literal["fp32", "int8"] = Field("fp32", description="ONNX precision.")
    answer_precision: Literal["fp32", "int8"] = Field(
        "int8", description="ONNX precision of the answer stage, which compares the question with each sentence, "
        "item and formula of the passages (stored at index time): int8 answers as well as fp32 and embeds them "
        "1.7x faster (README, 'Measuring quality'). The packaged model only; another model answers with its own.")
    chunk_tokens: int = Field(
        300, ge=32, le=2000,
        description="Chunk budget in tiktoken tokens; the embedder's own limit (256 word pieces) also binds.",
    )
    overlap_tokens: int = Field(40, ge=0, description="Largest trailing block carried into the next chunk.")
    # Calibrated on 110 questions (eval/dev_questions.jsonl and eval/calibration_questions.jsonl, 43 of them
    # not answered by the notes): no answerable question below 0.54, 27 unanswerable ones below 0.52.
    coverage_floor: float = Field(
        0.52, ge=-1.0, le=1.0,
        description="Below this similarity between the question and the best sentence, item, formula or code "
        "block of the top passages, the notes are taken not to cover it (calibrated for the packaged model; "
        "recalibrate with `rag eval` for another).",
    )
    api_key: str | None = Field(None, description="Bearer key required by write endpoints.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for generated answers.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the LLM endpoint.")
    llm_api_key: str | None = Field(None, description="Key for the LLM endpoint.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before the LLM call is abandoned.")
    llm_max_tokens: int = Field(
        400, ge=16, le=8192,
        description="Longest reply asked of the LLM (`max_tokens`): a small model that loops is cut off here.",
    )
    llm_budget: float = Field(
        45.0, gt=0,
        description="Seconds the LLM's answer may take in all, retries included; past it the extractive answer "
        "comes back.",
    )
    llm_cites: bool = Field(
        False,
        description="Ask the LLM to end its sentences with [n] (models that can); off, it writes freely and "
        "every sentence is attributed to the notes' lines after the fact, as it is either way.",
    )
    # Measured on 44 supported and 23 unsupported sentences a small model wrote (issue 27): at 0.75 the packaged
    # embedder kept 36 of the 44 and let 2 of the 23 through, both swaps, which the exact-terms check catches.
    llm_support_floor: float = Field(
        0.75, ge=-1.0, le=1.0,
        description="A written sentence is attributed to the notes' lines most similar to it when the similarity "
        "reaches this; below it the sentence is unsupported and left out.",
    )
    llm_min_supported: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Share of a written answer's sentences that must be supported by the notes; below it the "
        "extractive answer comes back.",
    )
    host: str = Field("127.0.0.1", description="Where `rag serve` listens.")
    port: int = Field(8000, ge=0, le=65535, description="Port of `rag serve` (0: any free port, printed at start).")
    watch: bool = Field(
        False,
        description="While `rag serve` runs, re-index the corpus folder a moment after its notes stop changing "
        "(`rag serve --watch`).",
    )
    quiz_new_per_day: int = Field(
        20, ge=0, description="Study mode: new cards introduced per day, after the due ones (`rag quiz`, the Quiz tab)."
    )
    max_query_chars: int = Field(2000, ge=1, description="Longer queries are refused (413).")
    max_upload_bytes: int = Field(2_000_000, ge=1, description="Larger uploads are refused (413).")
    trash_days: float = Field(30, ge=0, description="A deleted note is kept this many days in the data folder's "
                              "trash (RAG_DATA_DIR/trash), to be restored.")
    # Chunking and embedding cost about a minute and a half per MB of text: a 20 MB note took half an hour.
    max_note_bytes: int = Field(
        5_000_000, ge=1,
        description="A larger text note (or a PDF, notebook, Word document or web page with more text than this) is "
        "skipped and reported by `rag index`; a version indexed before is kept.",
    )


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, then apply non-None overrides."""
    apply_offline_env()
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidInput("bad setting: " + "; ".join(describe_problem(e, clean) for e in exc.errors())) from exc


def describe_problem(error: Any, overrides: dict[str, object]) -> str:
    """One problem of the settings, naming the variable (or option), the value given and what is allowed."""
    field = str(error["loc"][0]) if error.get("loc") else "?"
    name = f"--{field.replace('_', '-')}" if field in overrides else f"RAG_{field.upper()}"
    return f"{name}={error.get('input')!r}: {error['msg']}"


def apply_offline_env() -> None:
    """Make every hub-aware library stay offline unless the user said otherwise."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
