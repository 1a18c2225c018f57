"""Written answers you can check: an LLM writes from the blocks the extractive answer chose, and every sentence is
attributed to the lines that support it and cited there. Unsupported sentences are left out; a reply that is not
an answer, or is mostly unsupported, gives the extractive answer back with a note saying why."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.attribute import Attributed, Similarity, attribute
from rag.answer.generate import CONTEXT_TOKENS, Completion, budget_blocks, build_messages, cited_text, complete, header
from rag.answer.render import merge_spans
from rag.answer.reply import Line, pieces_of, read_reply
from rag.answer.screen import ReplyRejected, screen
from rag.models import Answer, Attribution, Citation, locate
from rag.settings import Settings

log = logging.getLogger(__name__)

REFUSAL = re.compile(r"\b(?:don'?t|do not|does not|doesn'?t)\s+(?:cover|contain|mention|say)"
                     r"|not\s+(?:mentioned|covered)|no information", re.I)


def written_answer(settings: Settings, answer: Answer, history: Sequence[tuple[str, str]],
                   similarity: Similarity) -> Answer:
    """The LLM's answer written from the extractive answer's blocks, every sentence cited to its lines.

    Raises LLMError when the endpoint fails and ReplyRejected when its reply is not an answer (the rejected
    reply's start is logged).
    """
    sent = budget_blocks(answer.citations, CONTEXT_TOKENS)
    messages = build_messages(answer.question, answer.search_query, sent, history, settings.llm_cites)
    reply = complete(settings, messages)
    try:
        return checked(settings, answer, sent, reply, similarity)
    except ReplyRejected as exc:
        log.warning("LLM reply rejected: %s; it began: %r", exc, reply.text[:200])
        raise


def checked(settings: Settings, answer: Answer, sent: Sequence[Citation], reply: Completion,
            similarity: Similarity) -> Answer:
    """The reply screened, read, attributed and assembled; ReplyRejected if it is not an answer."""
    frame = [header(n, b, settings.llm_cites) for n, b in enumerate(sent, start=1)]
    frame += [answer.question, answer.search_query]
    screen(reply.text, [cited_text(b) for b in sent], frame)
    lines = read_reply(reply.text, reply.truncated)
    attributed = attribute(pieces_of(lines), sent, similarity, settings.llm_support_floor,
                           f"{answer.question} {answer.search_query}")
    claims = [a for a in attributed if a.piece.kind != "filler"]
    kept = [a for a in claims if a.spans]
    if not kept and REFUSAL.search(reply.text):
        raise ReplyRejected("it says the notes don't cover the question, though they do")
    if not kept or len(kept) < settings.llm_min_supported * len(claims):
        raise ReplyRejected(f"{len(claims) - len(kept)} of its {len(claims)} sentences are not supported by "
                            "the notes")
    numbers = numbered(kept)
    left_out = len(claims) - len(kept)
    note = f"{left_out} sentence{'s' * (left_out > 1)} of the LLM's answer that the notes don't support " \
           f"{'were' if left_out > 1 else 'was'} left out" if left_out else ""
    return replace(answer, text=assemble(lines, attributed, numbers), mode="llm",
                   citations=citations(sent, kept, numbers), note=note, extractive=answer,
                   sentences=tuple(attribution(a, numbers) for a in claims))


def numbered(kept: Sequence[Attributed]) -> dict[int, int]:
    """Block index -> its [n] in the written answer, in order of first use."""
    numbers: dict[int, int] = {}
    for a in kept:
        for span in a.spans:
            numbers.setdefault(span.block, len(numbers) + 1)
    return numbers


def marks(a: Attributed, numbers: dict[int, int]) -> str:
    return " ".join(f"[{n}]" for n in dict.fromkeys(numbers[s.block] for s in a.spans))


def assemble(lines: Sequence[Line], attributed: Sequence[Attributed], numbers: dict[int, int]) -> str:
    """The reply's supported pieces as written (code byte for byte), each followed by its markers; a line left
    with nothing supported is left out."""
    found = iter(attributed)
    out: list[str] = []
    for line in lines:
        parts = []
        for piece in line.pieces:
            a = next(found)
            if not a.spans:
                continue
            sep = "\n" if piece.kind == "code" or "\n" in piece.text else " "
            parts.append(f"{piece.text}{sep}{marks(a, numbers)}")
        if parts:
            gap = "\n" if line.blank_before and out else ""
            out.append(gap + line.prefix + " ".join(parts))
    return "\n".join(out)


def citations(sent: Sequence[Citation], kept: Sequence[Attributed], numbers: dict[int, int]) -> list[Citation]:
    """One citation per block the answer cites: its chunk, and exactly the lines that support its sentences."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for a in kept:
        for span in a.spans:
            spans.setdefault(span.block, []).append((span.start, span.end))
    out = []
    for block, n in numbers.items():
        merged = merge_spans(spans[block])
        start, end = merged[0][0], merged[-1][1]
        passage = sent[block].passage
        out.append(Citation(n, passage, start, end, tuple(merged), locate(passage.segments, start, end)))
    return sorted(out, key=lambda c: c.n)


def attribution(a: Attributed, numbers: dict[int, int]) -> Attribution:
    """What the API and the UI show of a piece: its text, support, and the lines cited (none: the reason)."""
    cites = tuple((numbers[s.block], s.start, s.end) for s in a.spans)
    return Attribution(a.piece.text, a.piece.kind, round(a.support, 3), cites, a.reason)
