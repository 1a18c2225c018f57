"""`rag eval --self`: the questions the notes ask themselves (quiz cards), asked back, scored by the lines quoted."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from rag.answer.question import content_words
from rag.errors import NotFound
from rag.evaluate.retrieval import ANSWER_PASSAGES
from rag.models import Answer
from rag.quiz.cards import Card, derive_cards

if TYPE_CHECKING:
    from rag.answer.note import NoteView
    from rag.evaluate.retrieval import Rag

SAMPLE_SEED = "rag-eval-self"  # with the note's name: a note's sample stays put when other notes come and go
NOTES_SHOWN = 15  # per-note lines in the text report (JSON has every note)
MISSES_SHOWN = 5
ELSEWHERE_SHARE = 0.8  # of the expected answer's words an answer from other lines holds to count as saying it
ELSEWHERE_MIN_WORDS = 6  # fewer words than this any answer on the topic holds

Lines = tuple[int, int]


@dataclass(frozen=True)
class PairScore:
    """One card asked back: did the answer quote the lines that answer it, and what else did it quote."""

    source: str
    kind: str
    question: str
    start_line: int
    end_line: int
    expected: tuple[Lines, ...]  # the card's points' lines
    refused: bool
    hit: bool  # answered, and a quoted span of the card's note overlaps one of its points
    point_recall: float  # share of the points a quoted span overlaps
    precision: float | None  # share of the quoted lines (headings aside) within start..end; None if none quoted
    elsewhere: bool  # no hit, but the answer holds the expected answer's words: the notes say it twice
    chars: int
    quoted: tuple[tuple[str, int, int], ...]  # every quoted span: source, first line, last line


@dataclass(frozen=True)
class Figures:
    """Scores over some pairs; hit rate and point recall count a refusal as a miss, precision skips it."""

    pairs: int
    hit_rate: float | None
    point_recall: float | None
    precision: float | None
    refused: int
    elsewhere: int  # misses whose answer says the same from other lines
    median_chars: int  # of the answers given


@dataclass(frozen=True)
class SelfReport:
    notes: int  # notes checked (those without a pair included)
    unpaired: list[str]  # notes in which the card rules find no question: the check says nothing about them
    limit: int | None
    seconds: float
    ask_ms_p50: float
    overall: Figures
    by_kind: dict[str, Figures]
    by_format: dict[str, Figures]  # by the note's suffix: .md, .pdf, ...
    by_note: dict[str, Figures]  # worst first
    pairs: list[PairScore]


def evaluate_self(rag: Rag, sources: Sequence[str] = (), limit: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> SelfReport:
    """Derive the pairs of every indexed note (or of `sources`), at most `limit` a note, ask each, score it."""
    started = time.perf_counter()
    notes = notes_to_check(rag, sources)
    derived = {source: sample(derive_cards(rag.answerer.view(source)), limit, source) for source in notes}
    cards = [card for source in notes for card in derived[source]]
    headings = HeadingLines(rag.answerer.view)
    rows, latencies = [], []
    rag.warm_up()
    for n, card in enumerate(cards, 1):
        asked = time.perf_counter()
        answer = rag.ask(card.question, ANSWER_PASSAGES)
        latencies.append((time.perf_counter() - asked) * 1000)
        rows.append(score_pair(card, answer, headings))
        if progress:
            progress(n, len(cards))
    return SelfReport(
        notes=len(notes), unpaired=[source for source in notes if not derived[source]], limit=limit,
        seconds=round(time.perf_counter() - started, 1),
        ask_ms_p50=round(statistics.median(latencies), 1) if latencies else 0.0,
        overall=figures(rows), by_kind=grouped(rows, lambda r: r.kind), by_format=grouped(rows, note_format),
        by_note=dict(sorted(grouped(rows, lambda r: r.source).items(), key=lambda kv: worst_first(*kv))),
        pairs=rows,
    )


def notes_to_check(rag: Rag, sources: Sequence[str]) -> list[str]:
    """The indexed notes, or those of them given; NotFound for a name not indexed or an empty index."""
    indexed = [info.source for info in rag.sources()]
    if not indexed:
        raise NotFound("nothing is indexed: run `rag index` first")
    unknown = sorted(set(sources) - set(indexed))
    if unknown:
        raise NotFound(f"unknown source(s): {', '.join(unknown)}; `rag sources` lists the indexed notes")
    return [s for s in indexed if not sources or s in sources]


def sample(cards: Sequence[Card], limit: int | None, source: str) -> list[Card]:
    """At most `limit` of a note's cards, the same ones every run (seeded by the note's name), in note order."""
    if limit is None or len(cards) <= limit:
        return list(cards)
    chosen = random.Random(f"{SAMPLE_SEED}:{source}").sample(list(cards), limit)
    return sorted(chosen, key=lambda c: (c.start_line, c.question))


class HeadingLines:
    """The heading lines of each note, read once a run: a quoted heading labels a block, it says nothing itself."""

    def __init__(self, view: Callable[[str], NoteView]) -> None:
        self.view = view
        self._found: dict[str, frozenset[int]] = {}

    def __call__(self, source: str) -> frozenset[int]:
        if source not in self._found:
            view = self.view(source)
            self._found[source] = frozenset(u.start_line for u in view.units if u.kind == "heading")
        return self._found[source]


def quoted_spans(answer: Answer) -> tuple[tuple[str, int, int], ...]:
    """Every line range the answer quotes, with its note (none for a refusal)."""
    return tuple((c.passage.source, start, end) for c in answer.citations for start, end in c.quoted)


def overlaps(a: Lines, b: Lines) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def score_pair(card: Card, answer: Answer, headings: Callable[[str], Iterable[int]]) -> PairScore:
    """Hit, point recall and precision of one answer against the card it was asked from."""
    spans = quoted_spans(answer)
    own = [(start, end) for source, start, end in spans if source == card.source]
    expected = tuple((p.start_line, p.end_line) for p in card.points)
    covered = sum(any(overlaps(e, q) for q in own) for e in expected) if answer.answered else 0
    lines = {(source, n) for source, start, end in spans for n in range(start, end + 1)}
    lines -= {(source, n) for source in {s for s, _, _ in spans} for n in headings(source)}
    inside = sum(1 for source, n in lines if source == card.source and card.start_line <= n <= card.end_line)
    return PairScore(
        source=card.source, kind=card.kind, question=card.question, start_line=card.start_line,
        end_line=card.end_line, expected=expected, refused=not answer.answered, hit=covered > 0,
        point_recall=covered / len(expected) if expected else 0.0,
        precision=inside / len(lines) if answer.answered and lines else None,
        elsewhere=answer.answered and not covered and says_it(card.answer, answer.text),
        chars=len(answer.text), quoted=spans,
    )


def says_it(expected: str, text: str) -> bool:
    """The text holds most of the expected answer's words (a duplicate of the same lines elsewhere in the notes)."""
    wanted = set(content_words(expected))
    if len(wanted) < ELSEWHERE_MIN_WORDS:
        return False
    return len(wanted & set(content_words(text))) >= ELSEWHERE_SHARE * len(wanted)


def figures(rows: Sequence[PairScore]) -> Figures:
    precisions = [r.precision for r in rows if r.precision is not None]
    answered = [r.chars for r in rows if not r.refused]
    return Figures(
        pairs=len(rows),
        hit_rate=round(statistics.fmean(r.hit for r in rows), 3) if rows else None,
        point_recall=round(statistics.fmean(r.point_recall for r in rows), 3) if rows else None,
        precision=round(statistics.fmean(precisions), 3) if precisions else None,
        refused=sum(r.refused for r in rows),
        elsewhere=sum(r.elsewhere for r in rows),
        median_chars=int(statistics.median(answered)) if answered else 0,
    )


def grouped(rows: Sequence[PairScore], key: Callable[[PairScore], str]) -> dict[str, Figures]:
    groups: dict[str, list[PairScore]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {name: figures(group) for name, group in sorted(groups.items())}


def note_format(row: PairScore) -> str:
    return PurePosixPath(row.source).suffix.lower() or "(none)"


def worst_first(source: str, f: Figures) -> tuple[float, float, int, str]:
    """Lowest hit rate first; of two equal, the one with more pairs (3 missed of 3 says more than 1 of 1)."""
    return (f.hit_rate or 0.0, f.point_recall or 0.0, -f.pairs, source)


def format_self_report(report: SelfReport, notes_shown: int = NOTES_SHOWN) -> str:
    """Plain-text tables: per card kind, per note format, then the notes that fare worst and a few misses."""
    sample_size = f"at most {report.limit} a note" if report.limit else "all of them"
    notes = f"{report.notes} note" + ("s" if report.notes != 1 else "")
    unpaired = f" ({len(report.unpaired)} with no pair)" if report.unpaired else ""
    lines = [f"self-check: {report.overall.pairs} question/answer pairs from the notes' own cards ({sample_size}), "
             f"{notes}{unpaired}, ask p50 {report.ask_ms_p50} ms, {report.seconds} s"]
    if not report.overall.pairs:
        lines.append("no pair found: the notes have no question headings, bold question lines, definitions, "
                     "lists under headings or formulas the quiz's card rules read")
        return "\n".join(lines)
    lines += table("kind", [*report.by_kind.items(), ("all", report.overall)])
    lines += ["", *table("format", list(report.by_format.items()))]
    shown = list(report.by_note.items())[:notes_shown]
    more = len(report.by_note) - len(shown)
    lines += ["", *table(f"notes, worst first ({len(shown)} of {len(report.by_note)})", shown)]
    if more:
        lines.append(f"... {more} more notes: --json lists every note and pair")
    lines.append("elsewhere: missed the lines, but the answer holds 80% of the expected answer's words "
                 "(the notes say it twice)")
    lines += misses(report)
    return "\n".join(lines)


def table(title: str, rows: Sequence[tuple[str, Figures]]) -> list[str]:
    cols = ("pairs", "hit rate", "point recall", "precision", "refused", "elsewhere", "median chars")
    width = max([len(title), *(len(name) for name, _ in rows)]) + 2
    out = [f"{title:{width}}" + "".join(f"{c:>14}" for c in cols)]
    for name, f in rows:
        cells = (str(f.pairs), rate(f.hit_rate), rate(f.point_recall), rate(f.precision), f"{f.refused}/{f.pairs}",
                 str(f.elsewhere), str(f.median_chars))
        out.append(f"{name:{width}}" + "".join(f"{c:>14}" for c in cells))
    return out


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def misses(report: SelfReport, shown: int = MISSES_SHOWN) -> list[str]:
    """A few pairs whose answer quoted none of their lines nor said the same elsewhere, worst notes first: the
    question, where its answer is, what was quoted instead."""
    order = {source: n for n, source in enumerate(report.by_note)}
    missed = sorted((r for r in report.pairs if not r.hit and not r.elsewhere),
                    key=lambda r: (order[r.source], r.start_line))
    if not missed:
        return []
    out = ["", f"missed ({len(missed)}; first {min(shown, len(missed))}):"]
    for r in missed[:shown]:
        quoted = "refused" if r.refused else places(r.quoted)
        out.append(f"  {r.question!r} ({r.kind}) is answered at {r.source}:{r.start_line}-{r.end_line}; "
                   f"quoted {quoted}")
    return out


def places(spans: Sequence[tuple[str, int, int]]) -> str:
    """"notes.md:12, 15-18; other.md:3-4": the quoted spans, grouped by note."""
    by_source: dict[str, list[str]] = {}
    for source, start, end in spans:
        by_source.setdefault(source, []).append(str(start) if start == end else f"{start}-{end}")
    return "; ".join(f"{source}:{', '.join(ranges)}" for source, ranges in by_source.items())
