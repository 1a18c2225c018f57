"""`rag eval` on answers: facet recall, complete answers, refusals both ways and length, per question kind."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import InvalidInput
from rag.evaluate.retrieval import Question, load_questions, load_styles

if TYPE_CHECKING:
    from rag.evaluate.retrieval import Rag


def load_answer_questions(path: Path) -> list[Question]:
    """The questions of a file whose answers are scored: every answerable one must list its facets."""
    questions = load_questions(path)
    for q in questions:
        if q.answerable and not q.facets:
            raise InvalidInput(f"{path}: question {q.id} is answerable and needs `facets` (see eval/README.md) "
                               "to score its answer")
    return questions


def has_facets(path: Path) -> bool:
    """True if a question file carries facets, so its answers can be scored."""
    return path.is_file() and any('"facets"' in line for line in path.read_text(encoding="utf-8").splitlines())


def normalise(text: str) -> str:
    """The matching rule's normal form: lower case, no `*` or backticks, single spaces."""
    return re.sub(r"\s+", " ", text.lower().replace("*", "").replace("`", "")).strip()


def facets_covered(facets: Sequence[Sequence[str]], answer: str) -> int:
    """How many facets the answer covers: one of a facet's snippets occurs in it (after normalising)."""
    text = normalise(answer)
    return sum(any(normalise(s) in text for s in facet) for facet in facets)


def score_answer(question: Question, text: str, answered: bool, styles: dict[str, str] | None = None) -> dict[str, Any]:
    """One question's row: coverage of its facets, whether it is complete, refused, and how long."""
    covered = facets_covered(question.facets, text) if answered else 0
    return {
        "id": question.id, "kind": question.kind, "answerable": question.answerable, "answered": answered,
        "facets": len(question.facets), "covered": covered,
        "complete": question.answerable and answered and covered == len(question.facets),
        "chars": len(text), "format": question.format, "style": question.style(styles or {}),
    }


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Facet recall, complete answers, refusals both ways and median length over some rows."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r["chars"] for r in answerable if r["answered"]]
    return {
        "questions": len(rows),
        "facet_recall": round(statistics.fmean(r["covered"] / r["facets"] for r in answerable), 3)
        if answerable else None,
        "complete": sum(r["complete"] for r in answerable),
        "answerable": len(answerable),
        "answerable_refused": sum(not r["answered"] for r in answerable),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": sum(not r["answered"] for r in unanswerable),
        "median_chars": int(statistics.median(answered)) if answered else 0,
    }


def summarise_by(rows: Sequence[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """`summarise` for each value of one field of the rows (kind, format, style)."""
    return {name: summarise([r for r in rows if r[key] == name]) for name in sorted({r[key] for r in rows})}


def evaluate_answers(rag: Rag, path: Path, k: int = 5) -> dict[str, Any]:
    """Ask every question of the file (with its history) and score the answers, overall and per kind."""
    questions = load_answer_questions(path)
    styles = load_styles(path)
    rows, latencies = [], []
    for q in questions:
        started = time.perf_counter()
        answer = rag.ask(q.question, k, q.history)
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append(score_answer(q, answer.text, answer.answered, styles))
    return {
        "file": str(path), "all": summarise(rows), "kinds": summarise_by(rows, "kind"),
        "groups": {by: summarise_by(rows, by) for by in ("format", "style") if any(q.source for q in questions)},
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else 0.0,
        "incomplete": [r["id"] for r in rows if r["answerable"] and not r["complete"]],
        "wrong_refusals": [r["id"] for r in rows if r["answered"] != r["answerable"]],
    }


def format_answer_report(report: dict[str, Any]) -> str:
    """A plain-text table: one row per kind, then all questions."""
    cols = ("facet recall", "complete", "refused: unanswerable", "refused: answerable", "median chars")
    lines = [f"{report['file']}: answers ({report['all']['questions']} questions, ask p50 "
             f"{report['latency_ms_p50']} ms)", f"{'kind':30}" + "".join(f"{c:>24}" for c in cols)]
    groups = [(f"{by} {name}", s) for by, named in report.get("groups", {}).items() for name, s in named.items()]
    for name, s in [*report["kinds"].items(), *groups, ("all", report["all"])]:
        recall = "-" if s["facet_recall"] is None else f"{s['facet_recall']:.3f}"
        cells = (recall, f"{s['complete']}/{s['answerable']}", f"{s['unanswerable_refused']}/{s['unanswerable']}",
                 f"{s['answerable_refused']}/{s['answerable']}", str(s["median_chars"]))
        lines.append(f"{name[:30]:30}" + "".join(f"{c:>24}" for c in cells))
    if report["incomplete"]:
        lines.append(f"incomplete: {', '.join(report['incomplete'])}")
    if report["wrong_refusals"]:
        lines.append(f"refused or answered wrongly: {', '.join(report['wrong_refusals'])}")
    return "\n".join(lines)
