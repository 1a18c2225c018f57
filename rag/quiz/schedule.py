"""The study schedule: cards, their FSRS state and the review log in SQLite in the data folder."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag.errors import NotFound, StoreUnavailable
from rag.quiz.cards import Card, Point

RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}  # fsrs.Rating values
BUSY_SECONDS = 30.0  # how long a write waits for another one to finish
SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    question TEXT NOT NULL,
    kind TEXT NOT NULL,
    heading TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    points TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    state TEXT,
    due TEXT,
    introduced TEXT,
    phrased TEXT
);
CREATE INDEX IF NOT EXISTS cards_due ON cards (retired, due);
CREATE TABLE IF NOT EXISTS reviews (
    card_id TEXT NOT NULL,
    at TEXT NOT NULL,
    grade TEXT NOT NULL,
    score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_at ON reviews (at);
CREATE TABLE IF NOT EXISTS notes (source TEXT PRIMARY KEY, version TEXT NOT NULL);  -- sha256/card rules
"""


@dataclass(frozen=True)
class Scheduled:
    """A card with where it stands: its next due time (None while it is new) and its reviews so far."""

    card: Card
    due: datetime | None
    reviews: int
    retired: bool = False
    phrased: str | None = None  # the question as the LLM worded it (RAG_LLM_BASE_URL), if it did

    @property
    def question(self) -> str:
        """The question to show: the LLM's wording when there is one, else the card's own."""
        return self.phrased or self.card.question


@dataclass(frozen=True)
class Review:
    card_id: str
    topic: str
    at: datetime
    grade: str


class Schedule:
    """Cards and reviews in one SQLite file (WAL: readers never wait for the writer); a connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one call; a write holds the write lock from its first statement (BEGIN IMMEDIATE)."""
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the study schedule {self.path} cannot be opened: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            if write:
                db.execute("BEGIN IMMEDIATE")
            yield db
            if write:
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def versions(self) -> dict[str, str]:
        """The version (sha256 and card rules) of each note as its cards were last derived."""
        with self.connect() as db:
            return {row["source"]: row["version"] for row in db.execute("SELECT source, version FROM notes")}

    def sync(self, source: str, version: str | None, cards: Sequence[Card]) -> None:
        """Make the note's active cards exactly `cards`: new ones start new, a card whose id is kept (same question)
        keeps its history with its lines and answer updated, the others are retired. `version=None`: the note is
        gone."""
        ids = [c.id for c in cards]
        with self.connect(write=True) as db:
            for card in cards:
                db.execute(
                    "INSERT INTO cards (id, source, question, kind, heading, start_line, end_line, points) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET source=excluded.source, "
                    "question=excluded.question, kind=excluded.kind, heading=excluded.heading, "
                    "start_line=excluded.start_line, end_line=excluded.end_line, points=excluded.points, retired=0, "
                    # the LLM's wording of the question holds as long as the answer it was written for
                    "phrased=CASE WHEN cards.points = excluded.points THEN cards.phrased END",
                    (card.id, card.source, card.question, card.kind, card.heading, card.start_line, card.end_line,
                     json.dumps([asdict(p) for p in card.points])),
                )
            marks = ",".join("?" * len(ids))
            db.execute(f"UPDATE cards SET retired=1 WHERE source=? AND id NOT IN ({marks})", (source, *ids))
            if version is None:
                db.execute("DELETE FROM notes WHERE source=?", (source,))
            else:
                db.execute("INSERT INTO notes VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET "
                           "version=excluded.version", (source, version))

    def get(self, card_id: str) -> Scheduled | None:
        with self.connect() as db:
            row = db.execute(f"{SELECT} WHERE c.id=?", (card_id,)).fetchone()
        return scheduled(row) if row else None

    def active(self) -> list[Scheduled]:
        """Every card in service, in note order."""
        with self.connect() as db:
            rows = db.execute(f"{SELECT} WHERE c.retired=0 ORDER BY c.source, c.start_line").fetchall()
        return [scheduled(r) for r in rows]

    def introduced_since(self, since: datetime) -> int:
        """How many cards had their first review since then (the daily limit of new cards counts these)."""
        with self.connect() as db:
            return int(db.execute("SELECT count(*) FROM cards WHERE introduced >= ?", (iso(since),)).fetchone()[0])

    def reviews_since(self, since: datetime) -> list[Review]:
        with self.connect() as db:
            rows = db.execute("SELECT r.card_id, r.at, r.grade, c.heading, c.source FROM reviews r "
                              "JOIN cards c ON c.id = r.card_id WHERE r.at >= ? ORDER BY r.at", (iso(since),))
            return [Review(r["card_id"], r["heading"].split(" > ")[0] or r["source"], datetime.fromisoformat(r["at"]),
                           r["grade"]) for r in rows]

    def phrase(self, card_id: str, question: str) -> None:
        """Keep the LLM's wording of a card's question (its own question when the LLM gave none worth keeping)."""
        with self.connect(write=True) as db:
            db.execute("UPDATE cards SET phrased=? WHERE id=?", (question, card_id))

    def review(self, card_id: str, grade: str, score: float, now: datetime) -> datetime:
        """Record a review and schedule the card's next one with FSRS; its new due time."""
        from fsrs import Card as FsrsCard
        from fsrs import Rating, Scheduler

        with self.connect(write=True) as db:  # read, schedule, write under one lock: two reviews never interleave
            row = db.execute("SELECT state, introduced FROM cards WHERE id=?", (card_id,)).fetchone()
            if row is None:  # gone between the grading and this write: a note was removed meanwhile
                raise NotFound(f"no card {card_id}: its note was removed")
            state = FsrsCard.from_json(row["state"]) if row["state"] else FsrsCard(due=now)
            state, _ = Scheduler().review_card(state, Rating(RATINGS[grade]), review_datetime=now)
            db.execute("UPDATE cards SET state=?, due=?, introduced=? WHERE id=?",
                       (state.to_json(), iso(state.due), row["introduced"] or iso(now), card_id))
            db.execute("INSERT INTO reviews VALUES (?, ?, ?, ?)", (card_id, iso(now), grade, score))
        return state.due


SELECT = ("SELECT c.*, (SELECT count(*) FROM reviews r WHERE r.card_id = c.id) AS n_reviews FROM cards c")


def scheduled(row: sqlite3.Row) -> Scheduled:
    points = tuple(Point(**p) for p in json.loads(row["points"]))
    card = Card(row["id"], row["source"], row["question"], row["kind"], row["heading"], row["start_line"],
                row["end_line"], points)
    due = datetime.fromisoformat(row["due"]) if row["due"] else None
    return Scheduled(card, due, int(row["n_reviews"]), bool(row["retired"]), row["phrased"])


def iso(moment: datetime) -> str:
    """UTC ISO time: sortable as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def learn_ahead(now: datetime) -> datetime:
    """A card due this soon is shown now when nothing else is left (as Anki's learn-ahead limit)."""
    return now + timedelta(minutes=20)
