"""Study mode: cards from a note, grading against the notes, FSRS scheduling over the API and across restarts."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rag.answer.note import NoteView
from rag.app import Rag
from rag.embed.base import Embedder
from rag.embed.cache import VectorCache
from rag.errors import InvalidInput, NotFound, NothingToStudy
from rag.models import Passage
from rag.quiz import Card, derive_cards, grade_answer
from rag.serve.app import create_app
from tests.conftest import MULTI, REAL_NOTE
from tests.llm_standin import running

KEY = "quiz-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
STUDY_NOTE = r"""# Object-oriented design

## How is data abstraction accomplished?
Data abstraction is accomplished with abstract classes and abstract methods.
Abstract classes declare what subclasses must implement, and hide how they do it.

**Encapsulation** is the bundling of data and the methods that operate on it into a single class.
It keeps other code from changing an object's state directly.

### Advantages of Encapsulation
- Data hiding protects the internal state of an object.
- Getters and setters give controlled access to fields.
- Modularity lets the implementation change without breaking callers.

## Summary
- Abstraction hides details behind interfaces.
- Encapsulation bundles data with methods.

## Mean squared error
The **Mean Squared Error (MSE)** is defined as:
$$
MSE = \frac{1}{n} \sum_{i=1}^{n} (y_i - \hat{y}_i)^2
$$
Where:
- \(n\) is the number of samples.
- \(y_i\) is the true value and \(\hat{y}_i\) the prediction.

## How do you reverse a list in Python?
```python
items = [1, 2, 3]
items.reverse()
```

## So that is the whole story?
Yes, it is.

## What about the weather on Mars?
Getters and setters give controlled access.

## Would you like a deeper dive into any of these?
Would you like a deeper dive into polymorphism next?
"""


def note_view(text: str, source: str = "study.md") -> NoteView:
    lines = text.split("\n")
    return NoteView([Passage("p", source, 1, len(lines), "", text)])


def by_question(cards: list[Card]) -> dict[str, Card]:
    return {c.question: c for c in cards}


# --- cards (pure) ------------------------------------------------------------------------------------------------


def test_each_kind_of_card_comes_from_its_lines_and_vague_ones_do_not() -> None:
    cards = by_question(derive_cards(note_view(STUDY_NOTE)))
    lines = STUDY_NOTE.split("\n")

    def at(n: int) -> str:
        return lines[n - 1]

    question = cards["How is data abstraction accomplished?"]
    assert question.kind == "question" and (question.start_line, question.end_line) == (4, 5)
    assert question.answer.startswith("Data abstraction is accomplished with abstract classes")
    definition = cards["What is encapsulation?"]
    assert definition.kind == "definition" and len(definition.points) == 2
    assert at(definition.points[0].start_line).startswith("**Encapsulation** is the bundling")
    listed = cards["Name the advantages of encapsulation (3)"]
    assert listed.kind == "list" and [at(p.start_line)[:6] for p in listed.points] == ["- Data", "- Gett", "- Modu"]
    formula = cards["Write the formula for mean squared error (MSE)"]
    assert formula.kind == "formula" and formula.points[0].text.startswith("$$\nMSE = ")
    assert len(formula.points) == 3 and "number of samples" in formula.points[1].text  # the legend
    code = cards["How do you reverse a list in Python?"]
    assert code.kind == "code" and "items.reverse()" in code.answer and at(code.start_line) == "```python"
    assert all(c.heading for c in cards.values())
    asked = " ".join(cards).lower()
    for vague in ("summary", "whole story", "mars", "deeper dive"):
        assert vague not in asked, (vague, sorted(cards))
    assert "deeper dive" not in " ".join(c.answer for c in cards.values()).lower()


def test_a_card_keeps_its_id_when_its_lines_change_but_its_question_does_not() -> None:
    before = by_question(derive_cards(note_view(STUDY_NOTE)))
    edited = STUDY_NOTE.replace("It keeps other code", "\nIt stops other code")
    after = by_question(derive_cards(note_view(edited)))
    assert after["What is encapsulation?"].id == before["What is encapsulation?"].id
    assert after["What is encapsulation?"].points != before["What is encapsulation?"].points
    other = derive_cards(note_view(STUDY_NOTE, "other.md"))
    assert {c.id for c in other}.isdisjoint(c.id for c in before.values())  # the note is part of the id


QA_NOTE = """# Networking

**What is a subnet mask?**
A subnet mask splits an IP address into a network part and a host part.
It is written like 255.255.255.0.

<details>
<summary><b>Why use VLANs? ***</b></summary><br>

- VLANs separate broadcast domains on one switch.
- They group hosts by role instead of by cable.

Useful resources:

- [VLAN](https://en.wikipedia.org/wiki/VLAN)

</details>

<details>
<summary><b>How does the kernel schedule processes? ***</b></summary><br>

To be completed.

Useful resources:

- [Linux Processes](https://www.tldp.org/LDP/tlk/kernel/processes.html)

</details>

Routers forward packets between networks.

### What is ARP?

#### Answer

ARP maps an IP address to a MAC address on the local network.

#### Good to hear

- It is answered by broadcast.
"""


def test_bold_question_lines_and_answer_headings_make_question_cards() -> None:
    cards = by_question(derive_cards(note_view(QA_NOTE)))
    mask = cards["What is a subnet mask?"]  # the bold question heads its answer: the lines below it
    assert mask.kind == "question" and [(p.start_line, p.end_line) for p in mask.points] == [(4, 4), (5, 5)]
    assert mask.answer.startswith("A subnet mask splits")
    vlans = cards["Why use VLANs?"]  # ends at its links and </details>: "Routers forward ..." is not its answer
    assert [(p.start_line, p.end_line) for p in vlans.points] == [(10, 10), (11, 11)]
    assert not [q for q in cards if "kernel" in q]  # "To be completed." and links: no answer to study
    arp = cards["What is ARP?"]  # under its "Answer" sub-heading, not "Good to hear"
    assert (arp.start_line, arp.end_line) == (36, 36) and arp.answer.startswith("ARP maps an IP address")


def test_the_real_note_makes_enough_cards_of_every_kind() -> None:
    cards = derive_cards(note_view(REAL_NOTE.read_text(encoding="utf-8"), REAL_NOTE.name))
    kinds = {c.kind for c in cards}
    assert len(cards) >= 150 and kinds >= {"question", "definition", "list", "formula"}
    assert len({c.id for c in cards}) == len(cards)
    assert not [c.question for c in cards if "would you like" in c.question.lower() or c.question == "Summary?"]


def lines_of(card: Card) -> list[tuple[int, int]]:
    return [(p.start_line, p.end_line) for p in card.points]


TLDR_NOTE = """# ssh

> Secure Shell is a protocol used to securely log onto remote systems.

- Connect to a remote server:

`ssh {{username}}@{{remote_host}}`

- Connect to a remote server with a specific [i]dentity (private key):

`ssh {{username}}@{{remote_host}} -i {{path/to/key_file}}`

- SSH tunneling: Forward a specific port (`localhost:9999` to `example.org:80`):

`ssh -L {{9999}}:{{example.org}}:{{80}} {{remote_host}}`

- The following is printed:

`Welcome`
"""
CHEAT_TXT = """---
tags: [ git ]
---
# To set your editor:
git config --global core.editor <editor>

# To stash changes locally, this will keep the changes in a separate changelist
# called stash and the working directory is cleaned.
git stash

# Git commit in the past
git commit --date="yesterday"

# For more information, see:
# http://example.com/git
"""
SQL_STANZAS = "\n\n".join(f"-- {comment}\n{command}" for comment, command in [
    ("Comments start with two hyphens.", "SELECT 1;"),
    ("Create and delete a database.", "CREATE DATABASE someDatabase;\nDROP DATABASE someDatabase;"),
    ("List available databases.", "SHOW DATABASES;"),
    ("Same as above.", "SHOW DATABASES;"),
    ("Select all rows from the departments table.", "SELECT * FROM departments;"),
    ("Retrieve all departments columns, but just 5 rows.", "SELECT * FROM departments LIMIT 5;"),
    ("Show the number of rows in the departments table.", "SELECT COUNT(*) FROM departments;"),
    ("Insert a row of data into the table tablename1.", "INSERT INTO tablename1 VALUES('Richard','Mutt');"),
    ("Delete all rows from the tablename1 table.", "DELETE FROM tablename1;"),
    ("Remove the entire tablename1 table.", "DROP TABLE tablename1;"),
    ("Show the tables of the current database.", "SHOW TABLES;"),
    ("Select distinct titles.", "SELECT DISTINCT title FROM titles;"),
    ("Sort the titles.", "SELECT title FROM titles\nORDER BY title;"),
    ("Count the employees.", "SELECT COUNT(*) FROM employees;"),
])
SQL_SHEET = f"Structured Query Language is a standard language.\n\n```sql\n{SQL_STANZAS}\n```\n"


def test_a_description_line_over_a_command_makes_a_how_do_you_card() -> None:
    tldr = by_question(derive_cards(note_view(TLDR_NOTE, "tldr/ssh.md")))
    assert sorted(tldr) == [  # the note's title says with what; "[i]dentity" is read as a word; the label before
        "How do you connect to a remote server (ssh)?",  # ":" and the code aside go; "The following is printed:"
        "How do you connect to a remote server with a specific identity (private key) (ssh)?",  # says what comes,
        "How do you forward a specific port (ssh)?"]  # not what to do
    connect = tldr["How do you connect to a remote server (ssh)?"]
    assert connect.kind == "code" and lines_of(connect) == [(7, 7)] and connect.answer.startswith("`ssh {{username}}")

    sheet = by_question(derive_cards(note_view(CHEAT_TXT, "cheatsheets/git.txt")))
    assert sorted(sheet) == ["How do you set your editor (git)?",  # no verb in "Git commit in the past", and
                             "How do you stash changes locally (git)?"]  # "For more information" is over a link
    stash = sheet["How do you stash changes locally (git)?"]  # two comment lines, cut at the clause; the second
    assert lines_of(stash)[-1][1] == 9 and stash.answer.endswith("git stash")  # is the text above the command


def test_a_long_commented_code_block_makes_a_card_per_stanza_that_says_what_it_does() -> None:
    cards = by_question(derive_cards(note_view(SQL_SHEET, "learn/sql.md")))
    listed = cards["How do you list available databases (sql)?"]
    assert listed.kind == "code" and listed.answer == "SHOW DATABASES;" and lines_of(listed) == [(12, 12)]
    assert cards["How do you create and delete a database (sql)?"].answer.endswith("DROP DATABASE someDatabase;")
    assert "How do you retrieve all departments columns (sql)?" in cards  # cut where the sentence goes on
    assert len(cards) == 12  # all but "Comments start with two hyphens." and "Same as above.": no instruction


CPP_STANZAS = "\n\n".join(f"// {comment}\n{code}" if comment else code for comment, code in [
    ("", "#include <iostream>\n#include <string>\nusing namespace std;"),
    *[(f"Print greeting number {n}", f'cout << "hello {n}" << endl;\ncout << endl;') for n in range(1, 11)],
])
CPP_SHEET = f"# C++\n\n```cpp\n{CPP_STANZAS}\n```\n"


def test_a_preprocessor_line_is_no_comment_and_an_answer_two_rules_find_is_asked_once() -> None:
    cpp = by_question(derive_cards(note_view(CPP_SHEET, "cpp.md")))
    assert sorted(cpp) == sorted(f"How do you print greeting number {n} (C++)?" for n in range(1, 11))
    both = by_question(derive_cards(note_view(
        "# Ops\n\n**What is DevOps? Who does it?**\n\n"
        "**DevOps** is a cohesive team that engages in both development and operations tasks.\n", "ops.md")))
    assert list(both) == ["What is DevOps? Who does it?"]  # not "What is DevOps?" again over the same line


PEP_NOTE = """PEP: 8
Title: Style Guide for Python Code

Code Lay-out
============

Indentation
-----------

Use 4 spaces per indentation level. Continuation lines should align wrapped elements
vertically.

Tabs or Spaces?
---------------

Spaces are the preferred indentation method.

Introduction
============

This document gives coding conventions for the Python code.
"""
PROSE_NOTE = """# COMBAT

A typical combat encounter is a clash between two sides.

## Initiative

Initiative determines the order of turns during combat. When combat starts, every participant makes a
Dexterity check to determine their place in the initiative order.

## Regression

Let's prepare a simple quadratic training set:

```python
X = make_data()
```

## November 26, 2018

Deep learning models usually need a lot of data to be properly trained, and so they are.

### h

The learning rate indicates at which pace the weights get updated during training.
"""


def test_setext_titles_and_headings_over_prose_make_cards_when_they_name_a_topic() -> None:
    pep = by_question(derive_cards(note_view(PEP_NOTE, "peps/pep-0008.txt")))
    assert sorted(pep) == ["Explain indentation (code lay-out)", "Tabs or spaces?"]  # "Introduction" says nothing
    indentation = pep["Explain indentation (code lay-out)"]  # under the `=====` title it sits in
    assert indentation.kind == "question" and lines_of(indentation) == [(10, 10), (10, 11)]

    prose = by_question(derive_cards(note_view(PROSE_NOTE, "srd/Combat.md")))
    assert sorted(prose) == ["Explain initiative (combat)",  # a one-word title over what it is;
                             "How do you prepare a simple quadratic training set (Regression)?", "What is combat?"]
    assert lines_of(prose["Explain initiative (combat)"]) == [(7, 7), (7, 8)]  # no "Explain regression" (its text
    # is about something else: a step, asked as one), and a date and a glyph ("November 26, 2018", "h") name nothing


RUN_IN_NOTE = """# Combat

## Cover

***Half Cover***. A target with half cover has a +2 bonus to AC and Dexterity saving throws.

***Speed***. Your base walking speed is 25 feet. Your speed is not reduced by wearing heavy armor.

**Note**: rolls are made with a d20 and the highest result wins every single time.

## Model Size

**LoRA**: Reduces memory usage by storing only the low-rank matrices in every layer.

## Training Speed

**LoRA**: Trains faster because there are fewer parameters to update in every step.

## Tips and Tricks

❒ Dropout – Dropout is a technique used in neural networks to prevent overfitting the
training data by dropping out neurons with probability p > 0. It forces the model to avoid
relying too much on particular sets of features.
❒ Updating weights – In a neural network, weights are updated as follows:
- Step 1: Take a batch of training data.
"""
DEFINITIONS_NOTE = """# Heap

## Introduction

A heap is a specialized tree-based data structure which is a complete tree. In a max heap, the value of a node
is the greatest in its subtree.

A heap is a useful data structure when the highest priority item is removed often.

## Padding

In this case we refer to $(p_h, p_w)$ padding, the padding on both sides of the input.

This is a good way to keep the output size of the convolution the same as the input.
"""


def test_run_in_labels_and_plain_definitions_make_definition_cards() -> None:
    cards = by_question(derive_cards(note_view(RUN_IN_NOTE, "notes.md")))
    assert sorted(cards) == ["Explain cover (combat)", "Explain updating weights", "What is dropout?",
                             "What is half cover?", "What is speed (cover)?"]  # the labelled paragraphs are a list
    # under "Cover"; not "Note" (a remark) or "LoRA" (a label of two aspects)
    steps = cards["Explain updating weights"]  # "… as follows:" with what it leads into, not alone
    assert lines_of(steps) == [(24, 24), (25, 25)] and steps.answer.startswith("Updating weights – In a neural")
    half = cards["What is half cover?"]
    assert half.kind == "definition" and lines_of(half) == [(5, 5)] and half.answer.startswith("A target with")
    dropout = cards["What is dropout?"]  # a PDF's bullet, term and dash; up to the end of its second sentence
    assert lines_of(dropout) == [(21, 23)] and dropout.answer.endswith("particular sets of features.")

    defined = by_question(derive_cards(note_view(DEFINITIONS_NOTE, "heap.md")))
    heap = defined["What is a heap?"]
    assert heap.kind == "definition" and heap.start_line == 5
    assert not [q for q in defined if "we" in q.split() or "this" in q.lower().split()]  # "What are in this case we?"


JUNK_NOTE = """# Hermitian matrix

## Contents

- 1 Hermitian matrix characterizations
- 2 Hermitian matrix applications

## See also[edit]

- Vector space
- Skew-Hermitian matrix

## References[edit]

1. Frankel, Theodore (2004). The Geometry of Physics.
2. Horn, Roger (2013). Matrix Analysis.

## Code Examples

- [kMeans.js](./kMeans.js)
- [kMeans.test.js](./__test__/kMeans.test.js)

## Notes

- Notes are kept short.
- They are read twice.

### When is the migration completed?

To be completed soon.

## Properties

- A Hermitian matrix has real eigenvalues.
- Its eigenvectors can be chosen orthonormal.
"""


def test_navigation_headings_link_lists_and_placeholders_make_no_card() -> None:
    cards = by_question(derive_cards(note_view(JUNK_NOTE, "wikipedia/Hermitian_matrix.html")))
    assert sorted(cards) == ["Name the properties of hermitian matrix (2)"]  # the page's one real list


# --- grading on real cards --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_cards() -> list[Card]:
    return derive_cards(note_view(REAL_NOTE.read_text(encoding="utf-8"), REAL_NOTE.name))


@pytest.fixture(scope="module")
def vectors(embedder: Embedder) -> VectorCache:
    return VectorCache(embedder)


def test_the_notes_own_answer_scores_high_and_another_cards_low(real_cards: list[Card], vectors: VectorCache) -> None:
    sample = random.Random(3).sample(real_cards, 40)
    own = [grade_answer(c, c.answer, vectors.embed).score for c in sample]
    assert sum(s < 0.8 for s in own) <= 2, own  # the grading's two known gaps (README): a piecewise formula, IoU values
    others = [grade_answer(c, random.Random(c.id).choice([o for o in real_cards if o.id != c.id]).answer,
                           vectors.embed).score for c in sample]
    assert sum(s <= 0.3 for s in others) >= 0.9 * len(sample), others


def test_grading_names_the_missed_points_and_an_off_topic_answer_scores_zero(
        real_cards: list[Card], vectors: VectorCache) -> None:
    card = next(c for c in real_cards if c.question == "Name the advantages of SVM (3)")
    first = card.points[0]
    half = grade_answer(card, first.text, vectors.embed)
    assert first in half.matched and len(half.missed) == 2 and 0.15 < half.score < 0.8
    assert all(p.start_line >= card.start_line and p.end_line <= card.end_line for p in half.missed)
    for answer in ("Paris is the capital of France and has many museums.", "???", ""):
        off = grade_answer(card, answer, vectors.embed)
        assert off.score == 0.0 and off.suggested == "again" and not off.matched
    named = grade_answer(card, "They are effective in high dimensions, and there is the kernel trick.", vectors.embed)
    assert [p.text[:5] for p in named.matched] == ["1. **", "3. **"] and len(named.missed) == 1  # labels named
    full = grade_answer(card, card.answer, vectors.embed)
    assert full.score >= 0.9 and full.suggested == "easy" and not full.missed
    started = time.perf_counter()
    for _ in range(5):
        grade_answer(card, "SVMs work well in high dimensions and with clear margins.", vectors.embed)
    assert (time.perf_counter() - started) / 5 < 0.1


# --- the service: cards follow the notes ------------------------------------------------------------------------


@pytest.fixture
def study_rag(make_rag: Callable[..., Rag]) -> Rag:
    rag = make_rag(api_key=KEY, quiz_new_per_day=3)
    rag.add_notes([("study.md", STUDY_NOTE.encode())])
    return rag


def test_cards_follow_an_edited_then_a_deleted_note(study_rag: Rag) -> None:
    quiz = study_rag.quiz
    card = next(s.card for s in quiz.cards() if s.card.question == "What is encapsulation?")
    reviewed = quiz.answer(card.id, card.answer)
    assert reviewed.rating == "easy" and reviewed.due is not None and reviewed.due > datetime.now(UTC)

    edited = STUDY_NOTE.replace("# Object-oriented design\n", "# Object-oriented design\n\nA new first line.\n")
    edited = edited.replace("It keeps other code from changing", "It stops other code from changing")
    study_rag.add_notes([("study.md", edited.encode())], overwrite=True)
    after = quiz.get(card.id)  # same question: same card, moved down two lines, its history kept
    assert after.reviews == 1 and after.due == reviewed.due.replace(microsecond=0)
    assert after.card.start_line == card.start_line + 2 and "It stops other code" in after.card.answer

    study_rag.add_notes([("more.md", b"# Trees\n\n**Photosynthesis** is the process by which green plants turn "
                                     b"light, water and carbon dioxide into sugar.\n")])
    assert any(s.card.source == "more.md" for s in quiz.cards())
    study_rag.remove_note("study.md")
    with pytest.raises(NotFound, match="left the notes"):
        quiz.get(card.id)
    assert {s.card.source for s in quiz.cards()} == {"more.md"}


def test_new_cards_stop_at_the_daily_limit_and_due_ones_come_first(study_rag: Rag) -> None:
    quiz = study_rag.quiz
    now = datetime.now(UTC)
    assert quiz.next(topic="mean squared error").card.kind == "formula"  # matched by search, not by position
    seen = []
    for _ in range(3):
        s = quiz.next(now=now)
        assert s.due is None and s.card.id not in seen
        seen.append(s.card.id)
        quiz.answer(s.card.id, "I do not remember", "easy", now=now)  # due in days
    with pytest.raises(NothingToStudy, match="3 new cards"):
        quiz.next(now=now)
    later = quiz.next(now=now + timedelta(days=30))  # tomorrow's limit is fresh, but due cards come first
    assert later.card.id in seen and later.due is not None
    with pytest.raises(NotFound):
        quiz.next(source="nothing.md")


def test_bad_answers_and_grades_are_refused(study_rag: Rag) -> None:
    card = study_rag.quiz.next().card
    with pytest.raises(InvalidInput, match="empty"):
        study_rag.quiz.answer(card.id, "   ")
    with pytest.raises(InvalidInput, match="grade must be one of"):
        study_rag.quiz.answer(card.id, "something", "perfect")
    with pytest.raises(NotFound):
        study_rag.quiz.check("0000000000000000", "something")


# --- the API over a real server, and a restart ------------------------------------------------------------------


def test_the_schedule_survives_a_server_restart_and_the_api_refuses_bad_input(
        study_rag: Rag, embedder: Embedder) -> None:
    with running(create_app(study_rag, with_ui=False)) as url, httpx.Client(base_url=url, timeout=60) as client:
        card = client.get("/v1/quiz/next").json()
        assert set(card) == {"id", "question", "kind", "source", "start_line", "end_line", "heading", "due"}
        body = {"answer": "no idea at all"}
        assert client.post(f"/v1/quiz/{card['id']}/answer", json=body).status_code == 401
        checked = client.post(f"/v1/quiz/{card['id']}/check", json=body).json()
        assert checked["grade"] is None and checked["due"] is None  # checked only: still new
        result = client.post(f"/v1/quiz/{card['id']}/answer", json={**body, "grade": "hard"}, headers=AUTH)
        out = result.json()
        assert result.status_code == 200 and out["grade"] == "hard" and out["suggested_grade"] == "again"
        assert set(out) == {"card_id", "score", "suggested_grade", "grade", "matched", "missed", "contradicted",
                            "expected", "due"}
        assert out["score"] == 0.0 and out["missed"] and set(out["missed"][0]) == {"text", "start_line", "end_line"}
        assert out["expected"]["citations"][0]["source"] == "study.md"
        for payload, status in [({"answer": ""}, 422), ({"answer": "  "}, 422), ({"answer": "x", "grade": "ok"}, 422)]:
            response = client.post(f"/v1/quiz/{card['id']}/answer", json=payload, headers=AUTH)
            assert response.status_code == status, (payload, response.text)
        assert client.post("/v1/quiz/nope/answer", json=body, headers=AUTH).status_code == 404
        assert client.get("/v1/quiz/next", params={"source": "nothing.md"}).status_code == 404

    restarted = Rag(study_rag.settings, embedder=embedder)  # a new process's container over the same folder
    with running(create_app(restarted, with_ui=False)) as url, httpx.Client(base_url=url, timeout=60) as client:
        stats = client.get("/v1/quiz/stats").json()
        assert stats["reviewed"] == 1 and stats["retention"] == 1.0 and stats["new_today"] == 1
        assert stats["cards"] == stats["new"] + 1 and stats["by_topic"][0]["topic"]
        nxt = client.get("/v1/quiz/next").json()
        assert nxt["id"] != card["id"] and nxt["due"] is None  # the reviewed card is scheduled for later
        again = restarted.quiz.get(card["id"])
        assert again.reviews == 1 and again.due is not None and again.due.isoformat() == out["due"][:19] + "+00:00"


def test_concurrent_reviews_are_all_recorded(study_rag: Rag) -> None:
    from concurrent.futures import ThreadPoolExecutor

    quiz = study_rag.quiz
    ids = [s.card.id for s in quiz.cards()][:4]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: quiz.answer(ids[i % 4], "something", "good"), range(12)))
    assert sum(quiz.get(i).reviews for i in ids) == 12


def test_data_folder_holds_the_schedule(study_rag: Rag) -> None:
    study_rag.quiz.stats()
    assert (Path(study_rag.settings.data_dir) / "quiz.sqlite3").is_file()


# --- the terminal ----------------------------------------------------------------------------------------------


def test_rag_quiz_goes_through_the_server_holding_the_folder(study_rag: Rag, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from rag.cli.commands import cli
    from rag.index.presence import announce, hold_for_serving, server_record
    from rag.serve.api import package_version

    settings = study_rag.settings
    monkeypatch.setenv("RAG_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAG_API_KEY", KEY)

    def no_local_quiz(*args: object) -> None:
        raise AssertionError("the CLI opened the folder itself instead of asking the server")

    monkeypatch.setattr("rag.serve.quiz.LocalQuiz.__init__", no_local_quiz)
    with hold_for_serving(settings.data_dir), running(create_app(study_rag, with_ui=False)) as url:
        port = int(url.rsplit(":", 1)[1])
        with announce(settings.data_dir, server_record(settings, "127.0.0.1", port, package_version())):
            # one card answered with the notes' own words, the suggested grade taken; then an empty answer stops
            card = study_rag.quiz.next(topic="encapsulation advantages").card
            answer = card.answer.replace("\n", " ")
            result = CliRunner().invoke(cli, ["quiz", "--topic", "encapsulation advantages"],
                                        input=f"{answer}\n\n\n")
    assert result.exit_code == 0, result.output
    assert card.question in result.output and "Score 1.00" in result.output and "✓" in result.output
    assert "Graded easy" in result.output and "1 reviewed now, 1 today" in result.output
    assert study_rag.quiz.get(card.id).reviews == 1


# --- the optional LLM words questions, never answers ---------------------------------------------------------------


def test_the_llm_words_the_question_and_the_answer_stays_the_notes(make_rag: Callable[..., Rag]) -> None:
    from tests.llm_standin import StandInLLM

    standin = StandInLLM()
    with running(standin.app()) as url:
        rag = make_rag(llm_base_url=f"{url}/v1")
        rag.add_notes([("study.md", STUDY_NOTE.encode())])
        rule_card = derive_cards(note_view(STUDY_NOTE))[0]
        standin.reply = "By what means is data abstraction achieved?"
        shown = rag.quiz.next()
        assert shown.card.id == rule_card.id and shown.question == standin.reply
        assert shown.card.points == rule_card.points  # the expected answer is the notes' lines, untouched
        assert "Expected answer:\nData abstraction is accomplished" in standin.requests[0]["messages"][-1]["content"]
        assert rag.quiz.next().question == standin.reply and len(standin.requests) == 1  # worded once, kept
        assert rag.quiz.check(shown.card.id, rule_card.answer).grade.score >= 0.9

        rag.quiz.answer(shown.card.id, rule_card.answer, "easy")
        standin.reply = "Sure! Here is a better question:\nWhat is it?"  # chat, not a question: the card's own
        assert rag.quiz.next().question == "What is encapsulation?"


# --- cards from real notes of every format (eval/multi) ----------------------------------------------------------



def multi_cards(source: str) -> dict[str, Card]:
    from rag.ingest.registry import read_note

    note = read_note(MULTI / source, source)
    return by_question(derive_cards(note_view(note.text, source)))


def test_every_kind_of_note_makes_cards() -> None:
    tree = multi_cards("handson-ml3/06_decision_trees.ipynb")  # a markdown cell, then its code, then its output
    nodes = tree["How do you get the total number of nodes in the tree?"]
    assert nodes.kind == "code" and [p.text for p in nodes.points] == ["```python\ntree.node_count\n```",
                                                                      "```output\n5\n```"]
    assert "How do you convert the dot file to a png image?" in tree  # "The following command converts …:"
    lecture = multi_cards("prompt-engineering-guide/pe-lecture.ipynb")  # "Load environment variables. You can …"
    assert [q for q in lecture if q.startswith("How do you load environment variables")]
    numpy = multi_cards("handson-ml3/tools_numpy.ipynb")  # 44 cards before cells were read
    assert len(numpy) >= 50 and not [q for q in numpy if q.startswith("How do you") and len(q.split()) < 6]

    guide = multi_cards("mit-15-003/study-guide-data-manipulation-with-python.pdf")  # "❒ Label – … as follows:"
    filtering = guide["Explain filtering (data preprocessing)"]
    assert filtering.answer.startswith("Filtering – We can filter rows") and "df[df[" in filtering.answer
    assert len(guide) >= 10
    git = multi_cards("mit-15-003/study-guide-engineering-productivity-tips.pdf")
    assert len(git) >= 15 and not [c for c in git.values() if "Remark" in c.answer.split("\n")[0]]

    assert len(multi_cards("carpentries/Carpentries_MotivationDemotivation.docx")) >= 2
    assert len(multi_cards("carpentries/Carpentries_roles_worksheet_v4.docx")) >= 1
    zealand = multi_cards("wikipedia/New_Zealand.html")  # its name as written, asked once, without its gloss
    assert [q for q in zealand if "zealand" in q.lower() and q.startswith("What")] == ["What is New Zealand?"]
    assert len(multi_cards("wikipedia/Hermitian_matrix.html")) >= 2
    assert len(multi_cards("cheatsheets-txt/tar.txt")) >= 10


def test_questions_name_their_topic_read_as_questions_and_are_asked_once() -> None:
    real = by_question(derive_cards(note_view(REAL_NOTE.read_text(encoding="utf-8"), REAL_NOTE.name)))
    # numbered headings after "# Yes, QLoRA …" (no heading above): the prose that opens the run names the topic
    assert {"Explain memory usage (LoRA vs QLoRA)", "Explain model size (LoRA vs QLoRA)",
            "Explain memory and storage requirements (LSTM)", "How does dropout work?",
            "How is the ROC curve plotted?", "Why is MSE preferred in many ML models?"} <= set(real)
    assert "What is IoU (Intersection over Union)?" in real and "What is IoU?" not in real  # the same lines
    cheatsheets = multi_cards("stanford-cs221/cheatsheet-states-models.pdf")  # "VIP Cheatsheet: States-based models"
    assert "Explain graph search (states-based models)" in cheatsheets and not [q for q in cheatsheets if "VIP" in q]
    asked = {**multi_cards("obsidian-tasks-docs/Advanced/Urgency.md"),
             **multi_cards("obsidian-tasks-docs/Queries/Layout.md"),
             **multi_cards("distill/why-momentum-really-works.html")}
    assert {"How is urgency calculated?", "How does show tree work?", "Why does momentum really work?"} <= set(asked)

    for source in ["cheatsheets-txt/chmod.txt", "cheatsheets-txt/find.txt", "dnd-srd/Combat.md",
                   "handson-ml3/tools_numpy.ipynb", "sysadmin-skills/README.md", REAL_NOTE.name]:
        cards = list(real.values()) if source == REAL_NOTE.name else list(multi_cards(source).values())
        assert not [c.question for c in cards if re.match(r"^(?:How|Why|When) \w+ (?:works?|is|are)\b", c.question)]
        assert not [c.question for c in cards if re.match(r"^(?:Explain|Define|Write|Describe) .*\?$", c.question)
                    and "? " not in c.question]
        pointers = [p.text for c in cards for p in c.points if re.match(r"^\W*(?:see|for more)\b", p.text, re.I)]
        assert not pointers, source  # "See the "Making an Attack" section …", "# See: `man chmod`"
        answers = [c.answer for c in cards]
        assert len(answers) == len(set(answers)), source  # an answer the notes write twice is asked once
        bare = [re.sub(r"\s*\([A-Z][A-Za-z]{1,6}\)", "", c.question) for c in cards]
        assert len(bare) == len(set(bare)) or source == REAL_NOTE.name, source
