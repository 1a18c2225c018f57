"""Study mode: cards derived from the notes, answers graded against them, reviews scheduled by FSRS."""

from rag.quiz.cards import Card, Point, derive_cards
from rag.quiz.deck import NoteFeed, Quiz, Result, Stats, TopicStats
from rag.quiz.grade import GRADES, Grade, grade_answer
from rag.quiz.schedule import Schedule, Scheduled

__all__ = ["GRADES", "Card", "Grade", "NoteFeed", "Point", "Quiz", "Result", "Schedule", "Scheduled", "Stats",
           "TopicStats", "derive_cards", "grade_answer"]
