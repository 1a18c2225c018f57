"""Study mode's REST routes (/v1/quiz/...) and their models: thin over `Rag.quiz`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from rag.quiz import Card, Point, Result, Scheduled, Stats
from rag.serve.api import get_rag
from rag.serve.errors import error_docs
from rag.serve.models import NOT_BLANK

if TYPE_CHECKING:
    from rag.app import Rag

Grade = Literal["again", "hard", "good", "easy"]


class CardOut(BaseModel):
    """A question from the notes; lines `start_line`..`end_line` of `source` are its expected answer."""

    id: str
    question: str = Field(description="Worded by the LLM when RAG_LLM_BASE_URL is set; the answer never is.")
    kind: Literal["question", "definition", "list", "formula", "code"]
    source: str
    start_line: int
    end_line: int
    heading: str
    due: datetime | None = Field(description="When the card is due; null while it is new.")


class AnswerRequest(BaseModel):
    answer: str = Field(min_length=1, pattern=NOT_BLANK,
                        description="What the learner remembers; blank is refused (422).")
    grade: Grade | None = Field(None, description="Overrides the suggested grade (as the buttons in Anki).")


class PointOut(BaseModel):
    """One point of the expected answer (a sentence, item, formula, row or code block) and its lines."""

    text: str
    start_line: int
    end_line: int


class CitationOut(BaseModel):
    source: str
    start_line: int
    end_line: int


class ExpectedOut(BaseModel):
    answer: str = Field(description="The notes' own lines, one point a line.")
    citations: list[CitationOut]


class AnswerOut(BaseModel):
    card_id: str
    score: float = Field(ge=0, le=1, description="How much of the expected answer the answer made, 0..1.")
    suggested_grade: Grade
    grade: Grade | None = Field(description="The grade the card was scheduled by; null when only checked.")
    matched: list[PointOut]
    missed: list[PointOut]
    contradicted: list[PointOut] = Field(default_factory=list, description=(
        "Of the missed points, those the answer stated otherwise: a negation, an antonym, terms swapped, another "
        "number or a wrong formula (such an answer is suggested 'again')."))
    expected: ExpectedOut
    due: datetime | None = Field(description="The card's next review (after this one, if it was scheduled).")


class TopicOut(BaseModel):
    topic: str
    cards: int
    due: int
    new: int
    reviewed: int
    retention: float | None


class StatsOut(BaseModel):
    cards: int = Field(description="Cards in service.")
    due: int = Field(description="Cards due now.")
    new: int = Field(description="Cards never reviewed.")
    reviewed: int = Field(description="Reviews today (UTC).")
    retention: float | None = Field(description="Share of the last 30 days' reviews not graded again.")
    new_today: int = Field(description="New cards reviewed for the first time today.")
    new_per_day: int = Field(description="RAG_QUIZ_NEW_PER_DAY.")
    by_topic: list[TopicOut] = Field(description="Per top heading, most due first.")


def card_out(s: Scheduled) -> CardOut:
    c = s.card
    return CardOut(id=c.id, question=s.question, kind=c.kind,  # type: ignore[arg-type]
                   source=c.source, start_line=c.start_line, end_line=c.end_line, heading=c.heading, due=s.due)


def point_out(p: Point) -> PointOut:
    return PointOut(text=p.text, start_line=p.start_line, end_line=p.end_line)


def expected_out(card: Card) -> ExpectedOut:
    return ExpectedOut(answer=card.answer,
                       citations=[CitationOut(source=card.source, start_line=p.start_line, end_line=p.end_line)
                                  for p in card.points])


def result_out(r: Result) -> AnswerOut:
    return AnswerOut(card_id=r.card.id, score=r.grade.score, suggested_grade=r.grade.suggested,  # type: ignore[arg-type]
                     grade=r.rating,  # type: ignore[arg-type]
                     matched=[point_out(p) for p in r.grade.matched], missed=[point_out(p) for p in r.grade.missed],
                     contradicted=[point_out(p) for p in r.grade.contradicted],
                     expected=expected_out(r.card), due=r.due)


def stats_out(s: Stats) -> StatsOut:
    return StatsOut(cards=s.cards, due=s.due, new=s.new, reviewed=s.reviewed, retention=s.retention,
                    new_today=s.new_today, new_per_day=s.new_per_day,
                    by_topic=[TopicOut(**vars(t)) for t in s.by_topic])


class QuizClient(Protocol):
    """Study mode in the API's shapes, as the terminal and the MCP tools use it: `Rag.quiz` in this process
    (LocalQuiz) or a running server's routes (rag.cli.remote.RemoteQuiz)."""

    def next(self, source: str | None, topic: str | None) -> CardOut: ...

    def check(self, card_id: str, answer: str) -> AnswerOut: ...

    def answer(self, card_id: str, answer: str, grade: str | None) -> AnswerOut: ...

    def stats(self) -> StatsOut: ...


class LocalQuiz:
    """`Rag.quiz` in this process."""

    def __init__(self, rag: Rag) -> None:
        self.quiz = rag.quiz

    def next(self, source: str | None, topic: str | None) -> CardOut:
        return card_out(self.quiz.next(source, topic))

    def check(self, card_id: str, answer: str) -> AnswerOut:
        return result_out(self.quiz.check(card_id, answer))

    def answer(self, card_id: str, answer: str, grade: str | None) -> AnswerOut:
        return result_out(self.quiz.answer(card_id, answer, grade))

    def stats(self) -> StatsOut:
        return stats_out(self.quiz.stats())


def quiz_router(require_key: Callable[..., Any]) -> APIRouter:
    """The routes; `require_key` guards the one that changes the schedule, as it guards the other writes."""
    router = APIRouter(prefix="/v1/quiz", tags=["study"])

    @router.get("/next", response_model=CardOut, responses=error_docs(404, 422, 503))
    def next_card(request: Request,
                  source: Annotated[str | None, Query(description="Only cards of this note.")] = None,
                  topic: Annotated[str | None, Query(description="Only cards on this topic (matched by search).")]
                  = None) -> CardOut:
        """The card to study now: due ones first, then new ones up to RAG_QUIZ_NEW_PER_DAY; 404 when none is left."""
        return card_out(get_rag(request).quiz.next(source or None, topic or None))

    @router.post("/{card_id}/answer", response_model=AnswerOut, responses=error_docs(401, 404, 422, 503),
                 dependencies=[Depends(require_key)])
    def answer(card_id: str, body: AnswerRequest, request: Request) -> AnswerOut:
        """Grade the answer against the card's lines, and schedule its next review by `grade` (else the
        suggested one)."""
        return result_out(get_rag(request).quiz.answer(card_id, body.answer, body.grade))

    @router.post("/{card_id}/check", response_model=AnswerOut, responses=error_docs(404, 422, 503))
    def check(card_id: str, body: AnswerRequest, request: Request) -> AnswerOut:
        """Grade the answer without scheduling anything (`grade` is ignored): see the result, then choose a grade."""
        return result_out(get_rag(request).quiz.check(card_id, body.answer))

    @router.get("/stats", response_model=StatsOut, responses=error_docs(503))
    def stats(request: Request) -> StatsOut:
        """Cards in service, due now, new, reviewed today, retention, and the same per topic."""
        return stats_out(get_rag(request).quiz.stats())

    return router
