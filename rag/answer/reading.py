"""What an answer is chosen from: the units of the retrieved passages scored against the question read once
(rag.answer.question.Asked), its resolved query and its parts (pure over the vectors it is given)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.answer.labels import adjustment, on_intent, unit_language, word_keys
from rag.answer.note import NoteView
from rag.answer.question import Asked, content_words, literal_in
from rag.answer.select import Candidate, Picked, Quoting, choose, code_answer, is_filler
from rag.answer.units import PLACEHOLDER, Unit, explains_itself, is_lead_in, is_output, is_signpost
from rag.retrieve.intents import intents

PASSAGE_PRIOR = 0.25  # a unit of a better-ranked passage gets up to this much extra relevance
PART_WEIGHT = 0.8  # a part's best unit is found by the part (with its subject), a little by the whole question
PART_PRIOR_SHARE = 0.5  # a part is found more by its own words than by the rank of its passage
TOPIC_BONUS = 0.1  # a follow-up's unit that names the conversation's topic (in its headings or text)
ALREADY_SAID = 0.2  # less relevance for a unit the previous answer quoted, when the question follows it up
SIGNPOST = 0.15  # less relevance for a sentence that announces or points elsewhere ("We will compare ...")
LITERAL_BONUS = 0.15  # times the share of the question's numbers and identifiers the unit writes as they are
CODE_MARGIN = 0.3  # a code question gets the best code block unless a line is this much more relevant
FOLLOW_UP_WEIGHT = 0.7  # weight of the follow-up question itself against the query resolved with its topic


class Reading:
    """The units of the retrieved passages with their similarity to each query: what an answer is chosen from.

    `sims` has a column per query: the question, its resolved form when that differs (the first `n_main`
    columns), then each part of a multi-part question.
    """

    def __init__(self, asked: Asked, places: list[tuple[NoteView, int, int]], sims: np.ndarray,
                 n_main: int) -> None:
        self.asked, self.places, self.sims, self.n_main = asked, places, sims, n_main

    @property
    def question(self) -> str:
        return self.asked.text

    @property
    def query(self) -> str:
        return self.asked.query

    @property
    def parts(self) -> list[str]:
        return list(self.asked.parts)

    @property
    def coverage(self) -> float:
        """How well the notes answer: the best similarity of one quotable unit to the (resolved) query.

        A passage can share a question's topic while none of its lines answers it; a sentence, item,
        formula or code block that does is what an answer needs (RAG_COVERAGE_FLOOR is the bar).
        """
        return float(self.sims[:, self.n_main - 1].max()) if len(self.places) else 0.0

    @property
    def own_coverage(self) -> float:
        """The best similarity of one quotable unit to the question as asked (without a follow-up's topic)."""
        return float(self.sims[:, 0].max()) if len(self.places) else 0.0

    def has_code(self, asked_language: str) -> bool:
        """True if a code block of the passages is in the language asked for."""
        return any(v.units[i].kind == "code" and unit_language(v, i) == asked_language for v, i, _ in self.places)

    def choose(self) -> tuple[Picked, list[int]]:
        """The units to quote, and the question's parts the notes leave unanswered."""
        asked = self.asked
        quoting = Quoting(asked.references, asked.questions, asked.already_said)
        candidates = self.candidates(quoting)
        code = [c for c in candidates if c.view.units[c.index].kind == "code" and not is_output(c.view.units[c.index])
                and code_lines(c.view.units[c.index]) >= 1]
        in_language = [c for c in code if unit_language(c.view, c.index) == asked.language]
        best = max(in_language or code, key=lambda c: c.rel) if asked.code and code else None
        # a named language is a constraint (no Python block for a C++ question, whatever the prose says); code
        # of no named language far less relevant than the best line is no answer (a cheat sheet writes its
        # commands as inline code, not in a block)
        top = max((c.rel for c in candidates), default=0.0)
        if best is not None and ((asked.language and in_language) or best.rel >= top - CODE_MARGIN):
            return [(best.view, i) for i in code_answer(best.view, best.index)], []
        prose = [c for c in candidates
                 if c.view.units[c.index].kind != "code" or reads_as_prose(c.view, c.index, asked)]
        return choose(prose, len(asked.parts), table=asked.table, quoting=quoting, listing=asked.listing,
                      formula=asked.formula)

    def candidates(self, quoting: Quoting) -> list[Candidate]:
        """The quotable units scored: similarity, the passage's rank, what they are filed under, the topic.

        Each part is weighed by what it asks ("what is X" a definition, "when to use it" the uses) and by
        the words it names; the question as a whole by the words of its resolved query (a follow-up's topic).
        """
        asked = self.asked
        own = FOLLOW_UP_WEIGHT if asked.own_subject else 1 - FOLLOW_UP_WEIGHT  # "show me the code": its topic's
        main = self.sims[:, : self.n_main] @ np.array([1.0] if self.n_main == 1 else [own, 1 - own])
        texts = [asked.query, *(asked.parts if len(asked.parts) > 1 else [])]
        wanted = [set(asked.intents), *(intents(text) for text in texts[1:])]
        words = [content_words(text) for text in texts]
        # A follow-up ("how do I stop it from overfitting?") stays with the conversation's topic ("U-Net")
        topic = {w.rstrip("s")[:5] for w in words[0] if w not in set(content_words(asked.text))}
        literals = asked.literals
        found = []
        for n, (view, i, rank) in enumerate(self.places):
            unit = view.units[i]
            if not is_quotable(unit) or not quoting.allows(unit) or dangles(view, i) or (
                    unit.kind == "code" and not asked.code and not reads_as_prose(view, i, asked)):
                continue
            prior = PASSAGE_PRIOR / (1 + rank)
            on_topic = not topic or bool(topic & word_keys(content_words(f"{' '.join(view.paths[i])} {unit.text}")))
            prior += TOPIC_BONUS if topic and on_topic else 0.0
            extra = [prior * (1 if k == 0 else PART_PRIOR_SHARE) + adjustment(view, i, wants, asked.language, words[k])
                     for k, wants in enumerate(wanted)]
            sims = tuple(float(s) for s in self.sims[n, self.n_main :])
            signpost = SIGNPOST if is_signpost(unit) else 0.0
            parts = tuple(PART_WEIGHT * s + (1 - PART_WEIGHT) * float(main[n]) + extra[1 + p] - signpost
                          for p, s in enumerate(sims))
            # a part's "when is it useful" is about its own subject, not any section of uses nearby
            labelled = tuple(on_intent(view, i, wants if k == 0 else wants - {"use"}) for k, wants in enumerate(wanted))
            said = ALREADY_SAID if asked.already_said(unit.text) else 0.0  # a follow-up wants what is new
            written = LITERAL_BONUS * sum(literal_in(t, unit.text) for t in literals) / max(1, len(literals))
            rel = float(main[n]) + extra[0] - said - signpost + written
            found.append(Candidate(view, i, rel, parts, sims, labelled[0] and on_topic, labelled[1:]))
        return found




def reads_as_prose(view: NoteView, i: int, asked: Asked) -> bool:
    """A code block that can answer a question not asking for code: a commented stanza, what the code printed
    when the question asks what it gives ("what error do I get if ..."), the definition of a name the question
    asks about ("default params in set_open_params?": its `def` line says them), or the answer a Q&A note gives
    its question ("You have to find all files larger than 20MB. How?" and the command under it)."""
    unit = view.units[i]
    return explains_itself(unit) or (asked.result and is_output(unit)) \
        or defines_name(unit, asked.literals) or answers_its_heading(view, i)


def answers_its_heading(view: NoteView, i: int) -> bool:
    """True if a unit comes straight under a heading that asks a question: it is that question's answer."""
    above = view.units[i - 1] if i else None
    return above is not None and above.kind == "heading" and above.text.rstrip("*_ ").endswith("?")


DEFINED = r"(?:^|\n)\s*(?:(?:async\s+)?def|class|function|func|fn|struct|interface|type|const|let|var)\s+{}\b"


def defines_name(unit: Unit, names: Sequence[str]) -> bool:
    """True if a code block defines one of these names (def, class, function, const ...)."""
    names = [n.rstrip("()") for n in names if not n[0].isdigit()]
    return unit.kind == "code" and any(re.search(DEFINED.format(re.escape(n)), unit.text) for n in names)


def code_lines(unit: Unit) -> int:
    """Lines of code in a block, its fences not counted."""
    return sum(1 for line in unit.text.split("\n") if line.strip() and not re.match(r"\s*(?:`{3,}|~{3,})", line))


def is_quotable(unit: Unit) -> bool:
    """A unit that can answer on its own: not a heading, not a label, not a question the notes ask, not chat."""
    return unit.kind != "heading" and not is_label(unit) and not is_question(unit) and not is_filler(unit.text) \
        and not PLACEHOLDER.match(unit.text)


def is_question(unit: Unit) -> bool:
    """A sentence that asks ("Would you like a deeper dive…?"): it answers nothing. A listed question is content."""
    return unit.kind == "sentence" and unit.text.rstrip("*_ ").endswith("?")


def is_label(unit: Unit) -> bool:
    """A few words announcing what follows ("- **Causes**:"): context for what it announces, no answer alone."""
    return is_lead_in(unit) and len(re.findall(r"\w+", unit.text)) <= 6


def dangles(view: NoteView, i: int) -> bool:
    """A "...:" line with nothing after it to introduce."""
    return is_lead_in(view.units[i]) and not any(u.lead == i for u in view.units[i + 1 : i + 40])
