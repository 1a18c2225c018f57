"""`rag quiz`: one card at a time in the terminal, graded against the notes (through the server while one runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
import typer

from rag.errors import NothingToStudy

if TYPE_CHECKING:
    from rich.console import Console

    from rag.app import Rag
    from rag.cli.remote import RemoteRag
    from rag.serve.quiz import AnswerOut, QuizClient

GRADES = ("again", "hard", "good", "easy")


def quiz_client(rag: Rag | RemoteRag) -> QuizClient:
    """Study mode through the server when one holds the data folder, else in this process."""
    from rag.cli.remote import RemoteRag
    from rag.serve.quiz import LocalQuiz

    return rag.quiz_client() if isinstance(rag, RemoteRag) else LocalQuiz(rag)


def run_quiz(client: QuizClient, source: str | None, topic: str | None, console: Console) -> int:
    """Ask cards until the learner gives an empty answer or nothing is left; the number reviewed."""
    from rich.panel import Panel
    from rich.text import Text

    reviewed = 0
    while True:
        try:
            card = client.next(source, topic)
        except NothingToStudy as exc:
            console.print(f"[bold]Done for now.[/bold] {exc}")
            break
        where = f"{card.source}:{card.start_line}-{card.end_line}"
        # Text, not markup: a formula's "\\[" or "[0, 1]" is the notes' own, printed as written
        console.print(Panel(Text(card.question), title=Text(f"{card.kind} · {card.heading or card.source}"),
                            subtitle=Text(where)))
        answer = typer.prompt("Your answer (empty to stop)", default="", show_default=False)
        if not answer.strip():
            break
        checked = client.check(card.id, answer)
        show_result(checked, card.source, console)
        grade = click.prompt("Grade", default=checked.suggested_grade, type=click.Choice(GRADES))
        done = client.answer(card.id, answer, grade)
        reviewed += 1
        due = done.due.isoformat(timespec="minutes") if done.due else "?"
        console.print(f"Graded [bold]{grade}[/bold]; next review {due}\n")
    stats = client.stats()
    console.print(f"{reviewed} reviewed now, {stats.reviewed} today; {stats.due} due, {stats.new} new of {stats.cards}")
    return reviewed


def show_result(result: AnswerOut, source: str, console: Console) -> None:
    """The score, the points made and missed with their lines, and the suggested grade."""
    from rich.text import Text

    console.print(f"Score [bold]{result.score:.2f}[/bold], suggested grade [bold]{result.suggested_grade}[/bold]")
    for mark, style, points in (("✓", "green", result.matched), ("✗", "red", result.missed)):
        for p in points:  # the notes' text as a Text: rich markup would eat the backslash of "\\[" and "\\("
            console.print(Text.assemble("  ", (mark, style), f" {p.text}  ",
                                        (f"({source}:{p.start_line}-{p.end_line})", "dim")))
