"""Quiz: the study-mode use cases (next card, grade an answer, review, stats) over the notes as indexed."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from rag.answer.note import NoteView
from rag.errors import InvalidInput, NotFound, NothingToStudy
from rag.models import Passage
from rag.quiz.cards import RULES, Card, derive_cards
from rag.quiz.grade import GRADES, Embed, Grade, grade_answer
from rag.quiz.keywords import word_terms
from rag.quiz.schedule import Review, Schedule, Scheduled, day_start, learn_ahead

log = logging.getLogger(__name__)
TOPIC_PASSAGES = 8  # passages a topic's search brings: the cards on their lines are the topic's
RETENTION_DAYS = 30
MAX_ANSWER_CHARS = 10_000


@dataclass(frozen=True)
class Result:
    """A graded answer: the grade, the rating chosen (None when only checked) and the card's due time after it."""

    card: Card
    grade: Grade
    rating: str | None
    due: datetime | None


@dataclass(frozen=True)
class TopicStats:
    topic: str
    cards: int
    due: int
    new: int
    reviewed: int
    retention: float | None


@dataclass(frozen=True)
class Stats:
    """The deck today: cards in service, due now, never seen, reviews today, share remembered, per topic."""

    cards: int
    due: int
    new: int
    reviewed: int
    retention: float | None
    new_today: int
    new_per_day: int
    by_topic: list[TopicStats]


@dataclass(frozen=True)
class NoteFeed:
    """What the quiz reads of the index: its notes' versions, a note's view, and a search for topics."""

    snapshot: Callable[[], object]  # changes whenever the index does (the retriever's lexical snapshot)
    versions: Callable[[], dict[str, str]]  # source -> sha256 of the indexed notes
    view: Callable[[str], NoteView]
    search: Callable[[str, Sequence[str]], list[Passage]]


class Quiz:
    """Cards follow the index (re-derived when a note's sha256 changes), scheduled by FSRS in SQLite."""

    def __init__(self, schedule: Schedule, feed: NoteFeed, embed: Embed, new_per_day: int,
                 phrase: Callable[[Card], str] | None = None) -> None:
        self.schedule, self.feed, self.embed, self.new_per_day = schedule, feed, embed, new_per_day
        self.phrase = phrase  # the LLM's wording of a question, when one is configured
        self._lock = threading.Lock()
        self._synced: object = None

    def sync(self) -> int:
        """Derive the cards of the notes that changed since the last look, retire those of removed notes; how many
        notes were (re)derived."""
        snapshot = self.feed.snapshot()
        if snapshot is self._synced:
            return 0
        with self._lock:
            if snapshot is self._synced:
                return 0
            # a note's version is its sha256 and the card rules' version: new rules re-derive every note
            indexed = {s: f"{sha}/{RULES}" for s, sha in self.feed.versions().items()}
            known = self.schedule.versions()
            changed = sorted(s for s, sha in indexed.items() if known.get(s) != sha)
            for source in changed:
                self.schedule.sync(source, indexed[source], derive_cards(self.feed.view(source)))
            for source in sorted(set(known) - set(indexed)):
                self.schedule.sync(source, None, [])
            self._synced = snapshot
            if changed:
                log.info("study cards derived from %d note(s)", len(changed))
            return len(changed) + len(set(known) - set(indexed))

    def cards(self, source: str | None = None, topic: str | None = None) -> list[Scheduled]:
        """The cards in service, of one note and on one topic if given, in note order."""
        self.sync()
        found = self.schedule.active()
        if source:
            if source not in self.feed.versions():
                raise NotFound(f"no note named {source}: `rag sources` (GET /v1/sources) lists them")
            found = [s for s in found if s.card.source == source]
        if topic and topic.strip():
            found = on_topic(found, topic.strip(), self.feed.search(topic.strip(), [source] if source else []))
            if not found:
                raise NotFound(f"no card is about {topic!r}: try other words, or no topic")
        return found

    def next(self, source: str | None = None, topic: str | None = None, now: datetime | None = None) -> Scheduled:
        """The card to study now (its question worded by the LLM when one is configured)."""
        chosen = self.choose(source, topic, now or datetime.now(UTC))
        if self.phrase is None or chosen.phrased:
            return chosen
        worded = self.phrase(chosen.card)  # once per card and answer: kept until the card's lines change
        self.schedule.phrase(chosen.card.id, worded)
        return replace(chosen, phrased=worded)

    def choose(self, source: str | None, topic: str | None, now: datetime) -> Scheduled:
        """The most overdue card, else a new one while today's limit lasts, else one due within minutes.
        NothingToStudy when none is left."""
        found = self.cards(source, topic)
        due = sorted((s for s in found if s.due is not None and s.due <= now), key=lambda s: s.due or now)
        if due:
            return due[0]
        new = [s for s in found if s.due is None]
        if new and self.schedule.introduced_since(day_start(now)) < self.new_per_day:
            return new[0]
        soon = sorted((s for s in found if s.due is not None and s.due <= learn_ahead(now)), key=lambda s: s.due or now)
        if soon:
            return soon[0]
        later = min((s.due for s in found if s.due is not None), default=None)
        when = f"; the next card is due {later.isoformat(timespec='minutes')}" if later else ""
        limit = f" and today's {self.new_per_day} new cards are done" if new else ""
        raise NothingToStudy(f"nothing to study now: no card is due{limit}{when}")

    def check(self, card_id: str, answer: str) -> Result:
        """Grade an answer against the card's expected points, without touching its schedule."""
        answer = check_answer(answer)
        found = self.get(card_id)
        return Result(found.card, grade_answer(found.card, answer, self.embed), None, found.due)

    def answer(self, card_id: str, answer: str, grade: str | None = None, now: datetime | None = None) -> Result:
        """Grade an answer and schedule the card's next review by the grade given (else the one suggested)."""
        if grade is not None and grade not in GRADES:
            raise InvalidInput(f"grade must be one of {', '.join(GRADES)}, got {grade!r}")
        checked = self.check(card_id, answer)
        rating = grade or checked.grade.suggested
        due = self.schedule.review(card_id, rating, checked.grade.score, now or datetime.now(UTC))
        return Result(checked.card, checked.grade, rating, due)

    def get(self, card_id: str) -> Scheduled:
        self.sync()
        found = self.schedule.get(card_id)
        if found is None or found.retired:
            gone = " (its lines left the notes)" if found else ""
            raise NotFound(f"no card {card_id}{gone}: GET /v1/quiz/next (`rag quiz`) gives one")
        return found

    def stats(self, now: datetime | None = None) -> Stats:
        """Counts for today and retention (share of reviews not graded "again" in the last 30 days), per topic."""
        now = now or datetime.now(UTC)
        cards = self.cards()
        today = day_start(now)
        reviews = self.schedule.reviews_since(now - timedelta(days=RETENTION_DAYS))
        by_topic: dict[str, list[Scheduled]] = defaultdict(list)
        for s in cards:
            by_topic[s.card.topic].append(s)
        topic_reviews: dict[str, list[Review]] = defaultdict(list)
        for r in reviews:
            topic_reviews[r.topic].append(r)
        topics = [topic_stats(t, group, topic_reviews[t], now, today) for t, group in by_topic.items()]
        whole = topic_stats("", cards, reviews, now, today)
        return Stats(whole.cards, whole.due, whole.new, whole.reviewed, whole.retention,
                     self.schedule.introduced_since(today), self.new_per_day,
                     sorted(topics, key=lambda t: (-t.due, -t.cards, t.topic)))


def topic_stats(topic: str, cards: Sequence[Scheduled], reviews: Sequence[Review], now: datetime,
                today: datetime) -> TopicStats:
    kept = [r for r in reviews if r.grade != "again"]
    return TopicStats(
        topic, len(cards), sum(1 for s in cards if s.due is not None and s.due <= now),
        sum(1 for s in cards if s.due is None), sum(1 for r in reviews if r.at >= today),
        round(len(kept) / len(reviews), 3) if reviews else None,
    )


def on_topic(cards: Sequence[Scheduled], topic: str, passages: Sequence[Passage]) -> list[Scheduled]:
    """Cards whose question or headings use all the topic's words; else cards on the lines the topic's search
    found that use one of them (a chunk holds more than one topic)."""
    asked = word_terms(topic)
    named = [s for s in cards if asked and asked <= word_terms(f"{s.card.question} {s.card.heading}")]
    if named:
        return named
    spans = [(p.source, p.start_line, p.end_line) for p in passages[:TOPIC_PASSAGES]]

    def found(c: Card) -> bool:
        return any(src == c.source and start <= c.end_line and c.start_line <= end for src, start, end in spans)

    return [s for s in cards if found(s.card)
            and (not asked or asked & word_terms(f"{s.card.question} {s.card.heading} {s.card.answer}"))]


def check_answer(answer: str) -> str:
    answer = (answer or "").strip()
    if not answer:
        raise InvalidInput("the answer is empty: type what you remember (a wrong answer is fine, it is graded)")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"the answer is {len(answer)} characters; the limit is {MAX_ANSWER_CHARS}")
    return answer
