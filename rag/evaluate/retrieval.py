"""`rag eval`: retrieval quality, abstention and latency on a question set, per retrieval variant."""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.answer.question import resolve_followup
from rag.errors import InvalidInput, NotFound
from rag.models import Passage

if TYPE_CHECKING:
    from collections.abc import Callable

    from rag.answer import Answerer
    from rag.embed.base import Embedder
    from rag.models import Answer, IndexReport, SourceInfo
    from rag.retrieve.hybrid import Mode
    from rag.settings import Settings

VARIANTS = ("dense", "lexical", "rrf", "hybrid")
ANSWER_PASSAGES = 5  # abstention is judged on what `rag ask` answers from by default
SHIPPED = "hybrid"


class Rag(Protocol):
    """What `rag eval` measures: the container (`rag.app.Rag`), which the CLI passes in."""

    settings: Settings

    @property
    def embedder(self) -> Embedder: ...

    @property
    def answerer(self) -> Answerer: ...

    def warm_up(self) -> None: ...

    def search(self, query: str, k: int = ..., sources: Sequence[str] = ..., mode: Mode = ...) -> list[Passage]: ...

    def ask(self, question: str, k: int = ..., history: Sequence[tuple[str, str]] = ...) -> Answer: ...

    def sources(self) -> list[SourceInfo]: ...

    def index(self) -> IndexReport: ...


@dataclass(frozen=True)
class Question:
    """One line of a question file (see eval/README or ../shared/eval/README.md)."""

    id: str
    question: str
    kind: str
    gold_lines: list[tuple[int, int]]
    evidence: list[str]
    history: tuple[tuple[str, str], ...] = ()  # earlier turns of a follow-up question
    facets: tuple[tuple[str, ...], ...] = ()  # the points a complete answer makes (answer question files)
    source: str | None = None  # the note that answers it (multi-note sets); else the `--source` of the run

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def format(self) -> str:
        """The answering note's kind of file ("md", "pdf", ...); "-" for an unanswerable question."""
        return self.source.rsplit(".", 1)[-1].lower() if self.source and "." in self.source else "-"

    def style(self, styles: dict[str, str]) -> str:
        """The note style of the answering note's folder, as the set's styles.json names it."""
        if not self.source:
            return "-"
        return styles.get(self.source.split("/")[0], "other")


def load_questions(path: Path) -> list[Question]:
    """Parse a JSONL question file; a bad line is an error that names the line."""
    if not path.is_file():
        raise NotFound(f"question file {path} does not exist: give a JSONL file like eval/dev_questions.jsonl")
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(Question(
                id=str(raw.get("id", n)), question=raw["question"], kind=raw.get("kind", "factual"),
                gold_lines=[(int(a), int(b)) for a, b in raw.get("gold_lines", [])],
                evidence=list(raw.get("evidence", [])),
                history=tuple((str(t["role"]), str(t["content"])) for t in raw.get("history", [])),
                facets=tuple(tuple(str(s) for s in facet) for facet in raw.get("facets", [])),
                source=str(raw["source"]) if raw.get("source") else None,
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path}:{n}: not a valid question ({exc})") from exc
    return questions


def load_styles(path: Path) -> dict[str, str]:
    """The note style of each source folder, from `styles.json` beside a multi-note question file (else none)."""
    styles = path.with_name("styles.json")
    if not styles.is_file():
        return {}
    return {k: str(v) for k, v in json.loads(styles.read_text(encoding="utf-8")).items() if not k.startswith("_")}


def require_gold(questions: list[Question], path: Path) -> list[Question]:
    """The questions, if every answerable one says where its answer is; else an error naming the first that does not.

    Retrieval is scored against `gold_lines` and `evidence`: without them every passage counts as a miss and the
    file would score zeros that look like a broken search.
    """
    missing = [q.id for q in questions if q.answerable and not q.gold_lines and not q.evidence]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InvalidInput(
            f"{path}: question {missing[0]}{more} is answerable but has no `gold_lines` or `evidence`, so its "
            "retrieval cannot be scored: add them (see eval/README.md) or mark it \"kind\": \"unanswerable\""
        )
    return questions


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def is_relevant(passage: Passage, question: Question, source: str) -> bool:
    """Contains an evidence snippet, or covers at least half of a gold line range of `source`.

    A question that names its own note is answered only from it: evidence quoted from another note (a
    command that two cheat sheets share) is not its answer.
    """
    if question.source:
        if passage.source != question.source:
            return False
        source = question.source
    text = normalise(passage.text)
    if any(normalise(e) in text for e in question.evidence if e.strip()):
        return True
    if passage.source != source:
        return False
    for start, end in question.gold_lines:
        covered = min(end, passage.end_line) - max(start, passage.start_line) + 1
        if covered > 0 and covered >= (end - start + 1) / 2:
            return True
    return False


def rank_metrics(flags: Sequence[bool], n_gold: int) -> dict[str, float]:
    """Recall@1/5/10, reciprocal rank and nDCG@10 of one ranked list of relevance flags."""
    first = next((i for i, f in enumerate(flags[:10]) if f), None)
    dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(flags[:10]) if f)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(max(n_gold, 1), 10)))
    return {
        "recall@1": float(any(flags[:1])), "recall@5": float(any(flags[:5])),
        "recall@10": float(any(flags[:10])), "mrr@10": 0.0 if first is None else 1 / (first + 1),
        "ndcg@10": min(1.0, dcg / ideal),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def evaluate_variant(rag: Rag, questions: list[Question], k: int, source: str, mode: str,
                     styles: dict[str, str] | None = None) -> dict[str, Any]:
    """Metrics for one retrieval variant over all questions."""
    per_question: list[dict[str, Any]] = []
    latencies: list[float] = []
    for q in questions:
        query = resolve_followup(q.question, q.history, rag.settings.max_query_chars)  # searched as `ask` does
        started = time.perf_counter()
        passages = rag.search(query, max(k, 10), mode=mode)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        flags = [is_relevant(p, q, source) for p in passages]
        answered = rag.answerer.covers(query, passages[:ANSWER_PASSAGES])
        row: dict[str, Any] = {"id": q.id, "answerable": q.answerable, "answered": answered, "format": q.format,
                               "style": q.style(styles or {})}
        if q.answerable:
            row.update(rank_metrics(flags, len(q.gold_lines)))
        per_question.append(row)
    scored = [r for r in per_question if r["answerable"]]
    unanswerable = [r for r in per_question if not r["answerable"]]
    groups = {by: {name: mean_metrics([r for r in scored if r[by] == name], ("recall@5", "mrr@10"))
                   for name in sorted({r[by] for r in scored})}
              for by in ("format", "style") if any(q.source for q in questions)}
    return {
        **mean_metrics(scored, ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")),
        "groups": groups,
        "abstained_unanswerable": sum(not r["answered"] for r in unanswerable),
        "unanswerable": len(unanswerable),
        "wrongly_abstained": sum(not r["answered"] for r in scored),
        "answerable": len(scored),
        "latency_ms_p50": round(percentile(latencies, 0.5), 2),
        "latency_ms_p95": round(percentile(latencies, 0.95), 2),
        "misses@5": [r["id"] for r in scored if not r["recall@5"]],
    }


def mean_metrics(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """The mean of each metric over some questions' rows, and how many there were."""
    return {"n": len(rows), **{m: round(statistics.fmean(r[m] for r in rows), 3) if rows else 0.0 for m in names}}


def evaluate_file(rag: Rag, path: Path, k: int = 10, source: str = "interview-notes.md") -> dict[str, Any]:
    """Every variant side by side, in one run, so each change shows what it bought."""
    questions = require_gold(load_questions(path), path)
    styles = load_styles(path)
    rag.warm_up()
    variants = {mode: evaluate_variant(rag, questions, k, source, mode, styles) for mode in VARIANTS}
    return {"file": str(path), "questions": len(questions), "shipped": SHIPPED,
            "embedder": rag.embedder.id, "variants": variants}


def evaluate_precision(rag: Rag, path: Path, k: int, source: str, precision: str,
                       container: Callable[[Settings, Embedder], Rag]) -> dict[str, Any]:
    """The shipped variant with the ONNX model at another precision, on a throwaway index of the same notes
    (in the container `container` builds)."""
    import tempfile

    from rag.embed import build_embedder

    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        settings = rag.settings.model_copy(update={
            "data_dir": Path(tmp), "embed_precision": precision, "chroma_url": None, "embed_backend": "onnx"})
        # Reuse the exported models cached under the real data folder.
        embedder = build_embedder(settings.model_copy(update={"data_dir": rag.settings.data_dir}))
        other = container(settings, embedder)
        other.index()
        return evaluate_variant(other, require_gold(load_questions(path), path), k, source, SHIPPED)


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of the variants."""
    cols = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95"]
    lines = [f"{report['file']}: {report['questions']} questions, embedder {report['embedder']}",
             f"{'variant':10}" + "".join(f"{c:>16}" for c in cols) + f"{'abstention':>16}"]
    for name, v in report["variants"].items():
        mark = "*" if name == report["shipped"] else " "
        abst = f"{v['abstained_unanswerable']}/{v['unanswerable']}, {v['wrongly_abstained']} wrong"
        lines.append(f"{name + mark:10}" + "".join(f"{v[c]:>16}" for c in cols) + f"{abst:>16}")
    for precision, v in report.get("precisions", {}).items():
        abst = f"{v['abstained_unanswerable']}/{v['unanswerable']}, {v['wrongly_abstained']} wrong"
        lines.append(f"{'onnx-' + precision:10}" + "".join(f"{v[c]:>16}" for c in cols) + f"{abst:>16}")
    shipped = report["variants"][report["shipped"]]
    for by, groups in shipped.get("groups", {}).items():
        lines.append(f"{report['shipped']} by {by}: " + "; ".join(
            f"{name} ({g['n']}) R@5 {g['recall@5']} MRR {g['mrr@10']}" for name, g in groups.items()))
    if shipped["misses@5"]:
        lines.append(f"missed at 5 ({report['shipped']}): {', '.join(shipped['misses@5'])}")
    lines.append("* shipped configuration")
    return "\n".join(lines)
