"""Answers: unit splitting, follow-ups, selection and composition; the real corpus; the LLM path (stand-in)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.answer.compose import unit_texts
from rag.answer.note import NoteView
from rag.answer.question import comparison_sides, resolve_followup
from rag.answer.reading import dangles, defines_name, is_quotable
from rag.answer.render import compose
from rag.answer.select import Candidate, choose
from rag.answer.units import split_passage
from rag.app import Rag
from rag.embed.base import Embedder
from rag.embed.cache import VectorCache
from rag.models import Answer, Passage
from tests.conftest import MULTI, make_settings
from tests.llm_standin import StandInLLM, running

NOTE = """# Support Vector Machines

SVM finds the hyperplane with the maximum margin between the classes. The support vectors are the
training points closest to the hyperplane; they alone decide where it lies.

## Multi-class SVM

SVM is inherently a binary classifier. For multi-class problems, common strategies include:
1. **One-vs-One**: Train k(k-1)/2 classifiers, one per pair of classes.
2. **One-vs-Rest**: Train k classifiers, one per class against the rest.

## RBF kernel

The RBF kernel is defined as:
\\[
K(x, y) = \\exp(-\\gamma \\|x - y\\|^2)
\\]

# Regularization

L1 regularization adds the absolute values of the weights to the loss and drives some weights to exactly zero.
L2 regularization adds the squared weights to the loss and shrinks all weights smoothly towards zero.

| Property | L1 | L2 |
|---|---|---|
| Sparse weights | yes | no |
| Penalty | absolute values | squares |

## Example in PyTorch

Adding an L1 penalty to the loss:
```python
import torch.nn as nn
model = nn.Sequential(nn.Linear(10, 1))
l1 = sum(p.abs().sum() for p in model.parameters())
loss = criterion(model(x), y) + 0.01 * l1
```
"""


def passage(text: str, start: int = 10, heading: str = "Topic") -> Passage:
    return Passage("p", "note.md", start, start + text.count("\n"), heading, text)


def marked_lines(text: str) -> list[str]:
    """The answer's lines that must end with a marker (not code, table rows or blank lines)."""
    lines, inside = [], ""
    for line in text.split("\n"):
        if line.startswith("```") and inside in ("", "code"):
            inside = "" if inside else "code"
        elif line.startswith("\\[") and not inside:
            inside = "" if "\\]" in line else "formula"
        elif inside == "formula" and line.startswith("\\]"):
            inside = ""
            lines.append(line)
        elif not inside and line.strip() and not line.startswith("|"):
            lines.append(line)
    return lines


# --- units ----------------------------------------------------------------------------------


def test_sentences_keep_their_lines() -> None:
    units = split_passage(passage("First sentence here. Second one\nruns over a line. Third.\n\nNew para.", 10))
    assert [(u.start_line, u.end_line, u.text) for u in units] == [
        (10, 10, "First sentence here."), (10, 11, "Second one runs over a line."), (11, 11, "Third."),
        (13, 13, "New para."),
    ]


def test_a_paragraph_typed_on_a_heading_line_gives_sentences() -> None:
    prose = "# " + "Yes, QLoRA is LoRA with its frozen weights quantised to four bits. " * 3
    units = split_passage(passage(f"## Title\n\n{prose}\n", 20))
    assert [(u.kind, u.start_line) for u in units] == [("heading", 20)] + [("sentence", 22)] * 3
    assert all(not u.text.startswith("#") for u in units[1:])


def test_abbreviations_do_not_end_sentences() -> None:
    units = split_passage(passage("Use a norm, e.g. L2 or L1. Then stop."))
    assert [u.text for u in units] == ["Use a norm, e.g. L2 or L1.", "Then stop."]


def test_items_formulas_rows_and_code_are_whole_units() -> None:
    text = ("Strategies include:\n- one\n  continued\n- two\n\\[\na = b\n\\]\n$$x$$\n"
            "| h1 | h2 |\n|---|---|\n| a | b |\n```py\nx = 1\n\ny = 2\n```")
    units = split_passage(passage(text, 1))
    kinds = [(u.kind, u.start_line, u.end_line) for u in units]
    assert kinds == [("sentence", 1, 1), ("item", 2, 3), ("item", 4, 4), ("formula", 5, 7), ("formula", 8, 8),
                     ("row", 9, 9), ("row", 11, 11), ("code", 12, 16)]
    assert units[1].text == "- one continued" and units[1].lead == 0 and units[2].lead == 0
    assert units[6].header == 5


def test_nested_items_point_at_their_parent() -> None:
    units = split_passage(passage("1. **Types**:\n   - Right skew:\n     - Mean > Median.\n2. Other."))
    assert [u.lead for u in units] == [None, 0, 1, None]


def test_a_passage_cut_inside_a_code_block_starts_with_code() -> None:
    units = split_passage(passage("    return x\nprint(f())\n```\n\nAfter the code.", 40))
    assert (units[0].kind, units[0].start_line, units[0].end_line) == ("code", 40, 42)
    assert units[1].kind == "sentence"


def test_a_notebook_cell_is_one_code_unit_without_its_marker() -> None:
    text = ("Run it:\n\nIn [3]:\nx = [0, 1]\nfor v in x:\n    print(v)\n\n0\n1\n\n"
            "The loop prints each value of the list in order.")
    units = split_passage(passage(text, 30))
    assert [(u.kind, u.start_line, u.end_line) for u in units] == [
        ("sentence", 30, 30), ("code", 33, 38), ("sentence", 40, 40)]
    assert units[1].text.startswith("x = [0, 1]") and "In [3]" not in units[1].text


def test_a_question_the_notes_ask_is_not_quoted_but_a_listed_one_is() -> None:
    text = ("Dropout zeroes random units. Would you like a deeper dive?\n\n"
            "First ask how the values went missing:\n- Is it MCAR?")
    units = split_passage(passage(text))
    assert [(u.kind, is_quotable(u)) for u in units] == [
        ("sentence", True), ("sentence", False), ("sentence", True), ("item", True)]


def test_headings_the_chunker_reads_are_heading_units_and_their_underlines_are_not_quoted() -> None:
    text = ("Layout\n======\n\nIndent by four.\n\n<details>\n<summary><b>What is <code>nobody</code>?</b></summary><br>"
            "\n\nA user.\n\n**When to use it?**\nAlways.\n\n</details>")
    units = split_passage(passage(text, 1))
    assert [(u.kind, u.start_line, u.end_line, u.text) for u in units[:6]] == [
        ("heading", 1, 2, "Layout"), ("sentence", 4, 4, "Indent by four."), ("heading", 6, 7, "What is nobody?"),
        ("sentence", 9, 9, "A user."), ("heading", 11, 11, "When to use it?"), ("sentence", 12, 12, "Always.")]
    view = view_of(text)
    answer = view.section(5)  # "Always." sits under its question, under the summary's
    assert (answer.heading, answer.path) == (4, ("Layout", "What is nobody?", "When to use it?"))


def test_a_plain_text_notes_comment_lines_are_text_and_its_underlines_open_no_code() -> None:
    text = ("# To mount a folder over SSH\n# Install SSHFS first.\nsshfs host:/path /mnt\n\n"
            "Names\n~~~~~\n\nNever use l.\n\nClasses\n~~~~~~~\n\nCapWords.")
    sheet = Passage("p", "sheet.txt", 1, 14, "", text)
    units = split_passage(sheet)
    assert [(u.kind, u.start_line, u.text) for u in units] == [
        ("heading", 1, "To mount a folder over SSH"), ("sentence", 2, "Install SSHFS first. sshfs host:/path /mnt"),
        ("heading", 5, "Names"), ("sentence", 8, "Never use l."),
        ("heading", 10, "Classes"), ("sentence", 13, "CapWords.")]
    assert NoteView([sheet]).paths[1] == ("To mount a folder over SSH",)


def view_of(text: str, chunk_lines: int = 1000) -> NoteView:
    """A note stored as chunks of `chunk_lines` lines each."""
    lines = text.split("\n")
    chunks = [Passage(f"c{n}", "n.md", n + 1, min(n + chunk_lines, len(lines)), "",
                      "\n".join(lines[n : n + chunk_lines])) for n in range(0, len(lines), chunk_lines)]
    return NoteView(chunks)


def candidates(view: NoteView, scores: dict[int, float]) -> list[Candidate]:
    return [Candidate(view, i, rel, ()) for i, rel in scores.items()]


def test_blocks_quoted_apart_from_one_chunk_are_cited_as_separate_spans() -> None:
    view = view_of("# Kinds\n\nTwo kinds:\n- Compile time.\n- Run time.\n- Link time.\n- Load time.")
    text, citations = compose([(view, 2), (view, 4)])
    assert text == "- Compile time. [1]\n- Link time. [1]"
    assert [(c.cited_start, c.cited_end, c.quoted) for c in citations] == [(4, 6, ((4, 4), (6, 6)))]
    _, touching = compose([(view, 2), (view, 3)])
    assert touching[0].quoted == ((4, 5),)  # neighbouring lines are one span


def test_a_lead_in_with_nothing_after_it_is_not_quoted() -> None:
    view = view_of("Polymorphism means many forms. It comes in two kinds, split by when the call is bound:")
    assert [u.kind for u in view.units] == ["sentence", "sentence"] and dangles(view, 1)
    led = view_of("It comes in two kinds, split by when the call is bound:\n- Compile time.\n- Run time.")
    assert not dangles(led, 0)


def test_a_code_block_a_chunk_boundary_cuts_is_read_whole_from_the_later_chunk() -> None:
    # pe-lecture.ipynb: the chunk retrieved starts one line into the `def set_open_params(` block
    view = view_of("Setup:\n```python\ndef set_open_params(\n    model='gpt-3.5-turbo',\n):\n    return {}\n```",
                   chunk_lines=2)
    code = next(i for i, u in enumerate(view.units) if u.kind == "code")
    assert view.units[code].start_line == 2 and code not in view.units_in(3, 4)
    assert code in view.units_over(3, 4) and view.units_over(1, 1) == view.units_in(1, 1)


def test_a_code_block_defining_a_name_the_question_asks_about_reads_as_its_answer() -> None:
    view = view_of("```python\ndef set_open_params(\n    model='gpt-3.5-turbo',\n):\n    pass\n```\n\n"
                   "```js\nconst debounce = (fn, ms) => fn\n```\n\n```python\nparams = set_open_params()\n```")
    blocks = [u for u in view.units if u.kind == "code"]
    assert defines_name(blocks[0], ["set_open_params"]) and defines_name(blocks[1], ["debounce"])
    assert not defines_name(blocks[2], ["set_open_params"])  # a call is no definition


def test_a_list_is_read_whole_across_chunk_ends_and_cited_to_each_chunk() -> None:
    view = view_of("# Kinds\n\nTwo kinds:\n- Compile time.\n- Run time.\n- Link time.", chunk_lines=4)
    picked, missing = choose(candidates(view, {1: 0.9, 2: 0.5}), 1)
    assert [view.units[i].text for _, i in picked] == [
        "Kinds", "Two kinds:", "- Compile time.", "- Run time.", "- Link time."]
    text, citations = compose(picked)
    assert text == "**Kinds** [1]\n\nTwo kinds: [1]\n\n- Compile time. [1]\n- Run time. [2]\n- Link time. [2]"
    assert [(c.n, c.cited_start, c.cited_end) for c in citations] == [(1, 1, 4), (2, 5, 6)]
    assert missing == []


def test_the_section_around_the_best_unit_is_quoted_not_its_neighbours() -> None:
    text = "## 8. Advantages\n\n1. **Fast**: trains in minutes.\n\n## 9. Disadvantages\n\n1. **Opaque**: hard to read."
    view = view_of(text)
    assert [u.kind for u in view.units] == ["heading", "item", "heading", "item"]
    picked, _ = choose(candidates(view, {1: 0.4, 3: 0.8}), 1)
    answer, _ = compose(picked)
    assert answer == "**Disadvantages** [1]\n\n1. **Opaque**: hard to read. [1]"


def test_a_section_over_the_budget_keeps_its_best_blocks_and_renumbers_its_list() -> None:
    items = "\n".join(f"{n}. Point number {n} " + "word " * 30 for n in range(1, 8))
    view = view_of(f"# Topic\n\nIntro sentence that is long enough to cost something here.\n\nPoints:\n{items}")
    best = {i: 0.1 for i in range(len(view.units))}
    best.update({8: 0.9, 6: 0.8})  # items 6 and 4 (0 is the heading, 2 the "Points:" line)
    picked, _ = choose(candidates(view, best), 1, budget=400)
    answer, _ = compose(picked)
    assert "Points:" in answer and "1. Point number 4" in answer and "2. Point number 6" in answer
    assert "Point number 1 " not in answer and len(answer) < 600


def test_a_formula_keeps_its_legend_and_a_lead_in_never_dangles() -> None:
    filler = " ".join(["Some long sentence about other matters that costs room in the answer."] * 6)
    view = view_of(f"# Loss\n\n{filler}\n\nThe loss is:\n\\[\nL = y - p\n\\]\nWhere:\n- y is the label\n- p the guess"
                   f"\n\n{filler}\n\nIts parts are:\n- one\n- two")
    kinds = [u.kind for u in view.units]
    formula = kinds.index("formula")
    picked, _ = choose(candidates(view, {formula: 0.9, 1: 0.2, len(kinds) - 1: 0.1}), 1, budget=400)
    answer, _ = compose(picked)
    assert "L = y - p" in answer and "Where:" in answer and "- p the guess" in answer  # the legend with its formula
    assert "Its parts are:" not in answer or "- one" in answer  # a lead-in comes with its items or not at all


def test_a_table_question_prefers_the_notes_table() -> None:
    view = view_of("# A vs B\n\nA is fast and B is exact, in general.\n\n## Side by side\n\n"
                   "| | A | B |\n|---|---|---|\n| speed | fast | slow |\n| exactness | rough | exact |")
    rows = [i for i, u in enumerate(view.units) if u.kind == "row"]
    scores = {1: 0.8, rows[1]: 0.7, rows[2]: 0.65}
    prose, _ = choose(candidates(view, scores), 1, budget=60)
    table, _ = choose(candidates(view, scores), 1, budget=60, table=True)
    assert "| speed | fast | slow |" not in compose(prose)[0]
    assert "| speed | fast | slow |" in compose(table)[0] and "|---|---|---|" in compose(table)[0]


def test_a_command_under_its_description_is_quoted_with_it() -> None:
    view = view_of("# ssh\n\n- Connect through a jump host to a remote server:\n\n`ssh -J user@jump user@host`\n\n"
                   "- Forward a port:\n\n`ssh -L 8080:localhost:80 host`")
    command = next(i for i, u in enumerate(view.units) if u.text.startswith("`ssh -J"))
    assert view.units[command].lead == command - 1 and not dangles(view, command - 1)
    picked, _ = choose(candidates(view, {command: 0.9, command + 2: 0.2}), 1, budget=60)
    answer, _ = compose(picked)
    assert "Connect through a jump host" in answer and "`ssh -J user@jump user@host`" in answer


def test_a_cheat_sheet_section_is_quoted_by_the_commands_that_answer_not_whole() -> None:
    pairs = "\n\n".join(f"- Do task number {n}:\n\n`tool --task {n}`" for n in range(8))
    view = view_of(f"# tool\n\n{pairs}")
    command = next(i for i, u in enumerate(view.units) if u.text == "`tool --task 5`")
    scores = {i: 0.2 for i in range(len(view.units))}
    scores.update({command: 0.9, command - 1: 0.8})
    answer, _ = compose(choose(candidates(view, scores), 1)[0])
    assert "`tool --task 5`" in answer and "Do task number 5" in answer and "--task 2" not in answer


def test_reading_lists_and_exercises_are_quoted_only_when_asked_for() -> None:
    from rag.answer.select import Quoting

    view = view_of("# LRU cache\n\nA hash map with a doubly linked list gives O(1) get and set.\n\n"
                   "## References\n\n- [LRU Cache on LeetCode](https://leetcode.com/problems/lru-cache/)\n"
                   "- <https://en.wikipedia.org/wiki/Cache_replacement_policies>\n\n## Exercises\n\n"
                   "1. Why does the list need to be doubly linked?\n2. What happens when the cache is full?")
    scores = {i: 0.5 for i in range(len(view.units))}
    answer, _ = compose(choose(candidates(view, scores), 1, budget=2000)[0])
    assert "O(1) get and set" in answer and "leetcode" not in answer and "doubly linked?" not in answer
    asked = Quoting(references=True, questions=True)
    answer, _ = compose(choose(candidates(view, scores), 1, budget=2000, quoting=asked)[0])
    assert "leetcode" in answer and "doubly linked?" in answer
    from rag.answer.units import is_reference

    labelled = view_of("# DPO\n\n- **[Direct Preference Optimization](https://arxiv.org/abs/2305.18290)** Directly "
                       "optimizes the policy.\n- ✅ [DPO paper](https://arxiv.org/abs/2305.18290)")
    assert [is_reference(u) for u in labelled.units[1:]] == [False, True]  # a bold link labels a term


def test_a_long_commented_code_block_is_read_stanza_by_stanza_and_quoted_whole_for_code() -> None:
    from rag.answer.select import code_answer
    from rag.answer.units import explains_itself

    stanzas = "\n\n".join(f"# Target {n} builds part {n} of the program.\npart{n}: src{n}.c\n\tcc -c src{n}.c"
                           for n in range(15))
    view = view_of(f"# Make\n\n```make\n#-----\n# Phony Targets\n#-----\n\n{stanzas}\n```")
    code = [i for i, u in enumerate(view.units) if u.kind == "code"]
    assert len(code) == 15 and "# Phony Targets" in view.units[code[0]].text
    assert view.units[code[0]].text.startswith("```make") and view.units[code[-1]].text.endswith("```")
    assert all(explains_itself(view.units[i]) for i in code)
    answer, _ = compose([(view, i) for i in code_answer(view, code[3])])
    assert answer.count("```") == 2 and "part0:" in answer and "part14:" in answer


def test_a_comment_over_uncommented_code_says_what_that_code_does() -> None:
    from rag.answer.units import explains_itself

    steps = "\n\n".join(f"step{n}()\nstep{n}_again()" for n in range(30))
    view = view_of(f"# Decorators\n\n```python\n{steps}\n\n# Fix this using functools\n\nfrom functools import wraps"
                   "\n\ndef log(func):\n    @wraps(func)\n    def wrapper(*args):\n        return func(*args)\n"
                   "    return wrapper\n```")
    fix = next(u for u in view.units if "# Fix this" in u.text)
    assert "from functools import wraps" in fix.text and "@wraps(func)" in fix.text and explains_itself(fix)
    assert not any(explains_itself(u) for u in view.units if "step1()" in u.text)


def test_signposts_count_less_and_a_short_example_comes_with_the_lines_it_shows() -> None:
    from rag.answer.units import is_signpost

    view = view_of("# Start date\n\nWe will compare start dates with due dates below.\n\nWhen filtering by start date, "
                   "tasks without a start date are included.\nSuch a filter could be:\n\n```tasks\nstarts before "
                   "tomorrow\n```\n\nFor more details, see the Filters page.\n\n" + "Filler about other things. " * 60)
    signs = [u.text for u in view.units if is_signpost(u)]
    assert signs == ["We will compare start dates with due dates below.", "For more details, see the Filters page."]
    assert not is_signpost(view_of("You can see the oom_score of each process in /proc.").units[0])
    rule = next(i for i, u in enumerate(view.units) if u.text.startswith("When filtering"))
    scores = {i: 0.1 for i, u in enumerate(view.units) if u.kind == "sentence" and not u.text.endswith(":")}
    scores[rule] = 0.9
    answer, _ = compose(choose(candidates(view, scores), 1, budget=300)[0])
    assert "tasks without a start date are included" in answer and "starts before tomorrow" in answer
    assert "Filler" not in answer


def test_paragraphs_opened_by_run_in_labels_are_the_list_their_lead_in_announces() -> None:
    view = view_of("# Poisons\n\nPoisons come in the following four types.\n\n***Contact***. Contact poison is "
                   "smeared on an object. It stays potent.\n\n***Ingested***. A creature must swallow a dose.\n\n"
                   "**Bold words** in a sentence are no label.")
    kinds = [(u.kind, u.lead) for u in view.units[1:]]
    assert kinds == [("sentence", None), ("item", 1), ("item", 1), ("sentence", None)]
    picked, _ = choose(candidates(view, {1: 0.9, 2: 0.3, 3: 0.3, 4: 0.1}), 1, budget=200)
    answer, _ = compose(picked)
    assert "Contact poison is smeared on an object. It stays potent. [1]" in answer and "swallow a dose" in answer
    assert "Bold words" not in answer


def test_a_plain_cheat_sheets_commands_keep_their_lines() -> None:
    lines = ["# To find files changed in the last 2 days:", "find . -type f -ctime -2", "# Or created:",
             "find . -type f -Btime -2", "", "# To check a certificate:",
             "echo | openssl s_client -connect host:443 | \\", "openssl x509 -noout -enddate", "",
             "Wrapped prose in a plain note goes on to the", "next line and ends here."]
    units = split_passage(Passage("p", "find.txt", 1, len(lines), "", "\n".join(lines)))
    assert [(u.kind, u.text) for u in units if u.kind != "heading"] == [
        ("item", "`find . -type f -ctime -2`"), ("item", "Or created:"), ("item", "`find . -type f -Btime -2`"),
        ("item", "`echo | openssl s_client -connect host:443 | openssl x509 -noout -enddate`"),
        ("sentence", "Wrapped prose in a plain note goes on to the next line and ends here.")]
    view = NoteView([Passage("c0", "find.txt", 1, len(lines), "", "\n".join(lines))])
    command = next(i for i, u in enumerate(view.units) if "Btime" in u.text)
    answer, _ = compose(choose(candidates(view, {command: 0.9}), 1, budget=60)[0])
    assert "Or created: [1]\n`find . -type f -Btime -2` [1]" in answer


def test_an_item_that_says_something_then_asks_is_a_note_and_a_pages_citations_are_references() -> None:
    from rag.answer.select import Quoting

    view = view_of("# Clarify\n\n- Clarify input value range. Inputs: how big and what is the range?\n"
                   "- Why is dropout not used at test time?\n\n# Citations\n\n1. ^ Phillips, Jock (2011). Sports.")
    allowed = [u.text[:20] for u in view.units if u.kind != "heading" and Quoting().allows(u)]
    assert allowed == ["- Clarify input valu"]
    assert [u.text[:7] for u in view.units if u.kind != "heading" and Quoting(True, True).allows(u)] == [
        "- Clari", "- Why i", "1. ^ Ph"]
    stub = view_of("# How do you upgrade servers in production?\n\nTo be completed.").units[1]
    assert stub.text == "To be completed." and not is_quotable(stub)  # the notes ask it but don't answer it yet


def test_the_numbers_and_identifiers_a_question_writes_find_the_unit_that_writes_them() -> None:
    from rag.answer.question import literal_in, literal_tokens

    assert literal_tokens("what does it give for petal length 5, width 1.5 with set_open_params or fit()?") == [
        "5", "1.5", "set_open_params", "fit()"]
    assert literal_in("1.5", "tree_clf.predict_proba([[5, 1.5]])") and not literal_in("1.5", "version 1.55")
    assert not literal_in("5", "a 25 cm leaf")


def test_a_question_for_a_list_gets_the_whole_list_it_finds() -> None:
    kinds = "\n".join(f"- Kind {n}: " + "a poison that works in its own particular way " * 2 for n in range(4))
    view = view_of(f"# Poisons\n\nPoisons come in the following four types:\n{kinds}\n\nUnrelated closing words.")
    scores = {i: 0.5 for i, u in enumerate(view.units) if u.kind == "item"}
    scores[1] = 0.9
    cut, _ = compose(choose(candidates(view, scores), 1, budget=330)[0])
    whole, _ = compose(choose(candidates(view, scores), 1, budget=330, listing=("types", "poison"))[0])
    assert cut.count("- Kind") < 4 and whole.count("- Kind") == 4 and "Unrelated" not in whole


def test_the_parts_of_a_question_come_from_the_note_of_its_best_line_when_it_answers_them_nearly_as_well() -> None:
    dates = view_of("# Dates\n\n## Scheduled\n\nScheduled dates say when you plan to work.\n\n## Due\n\n"
                    "Due dates say when it must be done.")
    other = NoteView([Passage("o", "other.md", 1, 3, "", "# Recurring\n\nThe due date comes first in priority.")])
    scheduled, due = 2, 4
    found = [Candidate(dates, scheduled, 0.9, (0.9, 0.3), (0.9, 0.3)),
             Candidate(dates, due, 0.5, (0.3, 0.7), (0.3, 0.7)), Candidate(other, 1, 0.4, (0.2, 0.75), (0.2, 0.75))]
    answer, _ = compose(choose(found, 2)[0])
    assert "when it must be done" in answer and "priority" not in answer


def test_a_plain_notes_literal_block_after_a_double_colon_is_code() -> None:
    lines = ["The translation of the above statement is::", "", "    mgr = (EXPR)", "    try:", "        BLOCK", "",
             "    finally:", "        exit(mgr)", "", "Here, the variables are internal (Kingma et al. 2014)."]
    units = split_passage(Passage("p", "pep-0343.txt", 1, len(lines), "", "\n".join(lines)))
    assert [(u.kind, u.start_line, u.end_line) for u in units] == [
        ("sentence", 1, 1), ("code", 3, 8), ("sentence", 10, 10)]  # "et al." ends no sentence
    view = NoteView([Passage("c0", "pep-0343.txt", 1, len(lines), "", "\n".join(lines))])
    answer, _ = compose([(view, i) for i in range(2)])
    assert answer.startswith("The translation of the above statement is: [1]\n\n```\nmgr = (EXPR)\ntry:\n    BLOCK")


def test_a_note_without_headings_is_one_section_quoted_by_its_best_blocks() -> None:
    view = view_of("Inline comments should be used sparingly.\n\nAn inline comment is on the same line as a "
                   "statement. They should be separated by at least two spaces from the statement.\n\n"
                   "They should start with a # and a single space.\n\nUnrelated closing words about naming.")
    assert view.section(1) == view.section(3) and view.section(1).heading is None
    scores = {i: 0.1 for i in range(len(view.units))}
    scores.update({2: 0.8, 3: 0.75})
    answer, _ = compose(choose(candidates(view, scores), 1, budget=200)[0])
    assert "at least two spaces" in answer and "a # and a single space" in answer


def test_answers_show_no_layout_html_or_cross_reference_roles() -> None:
    from rag.answer.markup import without_markup

    assert without_markup("<details> <summary><b>What is load average?</b></summary><br>") == \
        "<b>What is load average?</b>"
    assert without_markup("A tree <img src='t.png' alt='binary tree'> and<br/>more :label:`fig_tree`") == \
        "A tree binary tree and more"
    assert without_markup("e<sup>-kn/m</sup> <!-- note to self -->") == "e<sup>-kn/m</sup>"
    assert without_markup("[!Info] Priority of date fields") == "Priority of date fields"
    assert without_markup("![MLP before and after dropout.](../img/dropout2.svg) :label:`fig`") == ""  # a figure alone
    assert without_markup("A tree like ![this one](t.png) has leaves.") == "A tree like this one has leaves."
    from rag.answer.select import Quoting

    assert not Quoting().allows(view_of("_Read this in other languages:_ [Português](README.pt-BR.md)").units[0])
    ports = view_of("# Ports\n\n<table> <tr> <th>SERVICE</th> <th>PORT</th> </tr> <tr> <td>SSH</td> <td>22</td> </tr>"
                    " </table>")
    answer, _ = compose([(ports, i) for i in range(len(ports.units))])
    assert "| SERVICE | PORT |\n|---|---|\n| SSH | 22 |\n\n[1]" in answer and "<td>" not in answer
    assert without_markup("See the discussion by :citet:`Sutskever.Martens.Dahl.ea.2013` and :cite:`Goh.2017`.") == \
        "See the discussion by Sutskever et al. 2013 and Goh 2017."
    view = view_of("# Q\n\n<details>\n\nLoad is the run queue length.<br>\n\n</details>")
    answer, _ = compose([(view, i) for i in range(len(view.units))])
    assert "<details>" not in answer and "<br>" not in answer and "Load is the run queue length. [1]" in answer


def test_a_list_question_over_sub_sections_gets_each_sub_heading_with_its_first_line() -> None:
    from rag.answer.question import listed_subject

    body = "Some words about why this matters for every model we train. " * 3
    text = (f"# NumPy\n\n## Arrays\n\n{body}\n\n## Broadcasting\n\nBroadcasting applies three rules.\n\n"
            "### First rule\n\nA 1 is prepended to the smaller array's shape.\n\n"
            "### Second rule\n\nA dimension of 1 acts as the largest one.\n\n"
            f"### Third rule\n\nAfter rules 1 and 2 the shapes must match. {body}\n\n## Slicing\n\n{body}")
    view = view_of(text)
    third = next(i for i, u in enumerate(view.units) if u.text.startswith("After rules"))
    scores = {i: 0.2 for i in range(len(view.units))}
    scores[third] = 0.9
    subject = listed_subject("numpy broadcasting rules?")
    answer, _ = compose(choose(candidates(view, scores), 1, budget=300, listing=subject)[0])
    assert "**First rule**" in answer and "prepended" in answer and "acts as the largest" in answer
    assert "After rules 1 and 2" in answer and "Slicing" not in answer
    plain, _ = compose(choose(candidates(view, scores), 1, budget=300)[0])
    assert "prepended" not in plain  # without a list asked, the section that answers
    assert listed_subject("what is broadcasting?") == []


def test_a_blockquoted_list_keeps_its_structure() -> None:
    view = view_of("# Combat\n\n># Combat Step by Step\n>\n>1. **Determine surprise.** The GM decides.\n"
                   ">2. **Roll initiative.** Everyone rolls.")
    assert [u.kind for u in view.units] == ["heading", "heading", "item", "item"]
    assert view.paths[2][-1] == "Combat Step by Step"  # two H1s: the quoted one is a section of its own


def test_a_formula_question_quotes_the_formula_and_exercises_are_not_answers() -> None:
    from rag.answer.question import wants_formula

    filler = " ".join(["Dropout is a regulariser that many networks use in their hidden layers."] * 10)
    view = view_of(f"# Dropout\n\n{filler}\n\nEach activation is replaced by:\n$$h' = h / (1 - p)$$\n\n"
                   "## Exercises\n\n1. Compare dropout and weight decay. Describe the results.")
    formula = next(i for i, u in enumerate(view.units) if u.kind == "formula")
    exercise = len(view.units) - 1
    scores = {i: 0.3 for i in range(len(view.units))}
    scores.update({1: 0.7, formula: 0.6, exercise: 0.9})
    assert wants_formula("whats the formula for dropout?") and not wants_formula("what is dropout?")
    answer, _ = compose(choose(candidates(view, scores), 1, budget=300, formula=True)[0])
    assert "h / (1 - p)" in answer and "Compare dropout" not in answer


def test_a_qa_notes_answer_section_counts_above_its_extras() -> None:
    from rag.answer.labels import adjustment

    view = view_of("### What is CORS?\n\n#### Answer\n\nCORS lets a server allow other origins.\n\n"
                   "#### Good to hear\n\n- CORS behaviour is not an error.")
    answer_unit, extra_unit = 2, 4
    assert adjustment(view, answer_unit, set(), None, []) > adjustment(view, extra_unit, set(), None, [])


def test_a_cells_output_answers_a_question_about_what_the_code_gives() -> None:
    from rag.answer.question import read_question
    from rag.answer.reading import reads_as_prose

    view = view_of("# Slices\n\nYou cannot grow an array this way:\n\n```python\na[2:5] = [1, 2, 3, 4]\n```\n\n"
                   "```output\ncannot copy sequence with size 4 to array axis with dimension 3\n```")
    output = next(i for i, u in enumerate(view.units) if u.text.startswith("```output"))
    assert reads_as_prose(view, output, read_question("what error do I get if I assign a longer list?"))
    assert not reads_as_prose(view, output, read_question("how do slices work?"))


def test_a_command_straight_under_a_question_heading_is_its_answer() -> None:
    from rag.answer.question import read_question
    from rag.answer.reading import reads_as_prose

    # sysadmin-skills' Q&A: a <summary> question, then only the command that answers it
    view = view_of("## You have to find all files larger than 20MB. How you do it?\n\n```bash\n"
                   "find / -type f -size +20M\n```\n\n## Setup\n\n```bash\napt install findutils\n```")
    blocks = [i for i, u in enumerate(view.units) if u.kind == "code"]
    asked = read_question("which files are bigger than 20 megabytes?")
    assert reads_as_prose(view, blocks[0], asked) and not reads_as_prose(view, blocks[1], asked)


def test_a_part_of_the_question_nothing_answers_is_named() -> None:
    view = view_of("# A\n\nAlpha is the first letter.\n\n# B\n\nBeta is the second letter.")
    cands = [Candidate(view, 1, 0.9, (0.9, 0.1), (0.9, 0.1)), Candidate(view, 3, 0.2, (0.2, 0.2), (0.2, 0.2))]
    picked, missing = choose(cands, 2)
    assert missing == [1] and all(view.units[i].text != "Beta is the second letter." for _, i in picked)


# --- follow-ups and comparisons -------------------------------------------------------------


def test_follow_up_gets_the_previous_topic() -> None:
    history = [("user", "What is a support vector machine?"), ("assistant", "An SVM ... [1]")]
    assert resolve_followup("and its disadvantages?", history) == \
        "What is a support vector machine? and its disadvantages?"
    assert resolve_followup("What about kernels?", history).startswith("What is a support vector machine?")
    assert resolve_followup("How does it scale?", history).startswith("What is a support vector machine?")


def test_standalone_questions_are_left_alone() -> None:
    history = [("user", "What is a support vector machine?")]
    question = "How is the learning rate chosen for gradient descent in deep networks?"
    assert resolve_followup(question, history) == question
    assert resolve_followup("and its disadvantages?", []) == "and its disadvantages?"


@pytest.mark.parametrize("question, follows", [
    ("show me the code", True),  # names no subject of its own
    ("ok, and what if it goes wrong halfway through the rebase, how do I get out of it?", True),  # long
    ("does a long rest get rid of it and restore the hit points the character lost earlier?", True),
    ("what is batch normalization and why does it help the training of deep networks?", False),  # its own "it"
    ("how is the exhaustion of a character different from being poisoned?", False),  # names its topic
])
def test_a_follow_up_is_known_by_what_it_refers_to_not_by_its_length(question: str, follows: bool) -> None:
    history = [("user", "exhaustion levels 1-6, what does each do?"), ("assistant", "Level 1: ... [1]")]
    assert (resolve_followup(question, history) != question) is follows


def test_a_follow_up_quotes_what_the_previous_answer_did_not(make_rag) -> None:
    rag = make_rag()
    filler = " ".join(f"Layer {n} of the network keeps its own weights and biases." for n in range(40))
    (rag.settings.corpus_dir / "dropout.md").write_text(
        "# Dropout\n\nDropout is a regularisation technique that zeroes random activations while training.\n\n"
        f"{filler}\n\nDropout was introduced by Srivastava and colleagues in 2014 to reduce overfitting.\n\n"
        f"{filler}\n")
    rag.index()
    first = rag.ask("what is dropout?")
    assert first.answered and "zeroes random activations" in first.text
    history = [("user", "what is dropout?"), ("assistant", first.text)]
    more = rag.ask("what is dropout? tell me more", 5, history)  # names its topic: read alone, says it all again
    assert "zeroes random activations" in more.text
    more = rag.ask("tell me more about it", 5, history)
    assert more.answered and more.search_query != "tell me more about it"
    assert "Srivastava" in more.text and "zeroes random activations" not in more.text


def test_a_follow_up_naming_its_own_subject_is_answered_from_the_conversations_topic(make_rag) -> None:
    # eval/multi m178 (The Carpentries' Word note, CC BY): asked alone, "saying 'just'" finds other notes
    rag = make_rag()
    for note in ["carpentries/Carpentries_MotivationDemotivation.docx", "d2l/beam-search.md",
                 "prompt-engineering-guide/prompts-reliability.md",
                 "stanford-cs230/cheatsheet-recurrent-neural-networks.pdf"]:
        shutil.copy(MULTI / note, rag.settings.corpus_dir)
    rag.index()
    history = [("user", "what should instructors avoid doing - the demotivation list"),
               ("assistant", "Don't use the J word ('just') or feign surprise. [1]")]
    answer = rag.ask("why is saying 'just' bad?", 5, history)
    assert answer.answered and "trivial" in answer.text
    assert {c.passage.source for c in answer.citations} == {"Carpentries_MotivationDemotivation.docx"}
    # the topic's words alone answer nothing asked after it
    assert not rag.ask("what is the capital of Peru?", 5, history).answered


def test_a_cheat_sheets_inline_commands_answer_a_code_question_over_a_weaker_code_block(make_rag) -> None:
    # tldr writes its commands as inline code lines; learnxinyminutes' git note has fenced blocks on other commands
    rag = make_rag()
    for note in ["tldr/git-bisect.md", "learnxinyminutes/git.md"]:
        shutil.copy(MULTI / note, rag.settings.corpus_dir)
    rag.index()
    answer = rag.ask("script to let git bisect test each commit by itself? which exit status is good?")
    assert answer.answered and "git bisect run" in answer.text and "git checkout" not in answer.text
    # a question naming its language still gets that language's block
    assert "```" in rag.ask("bash code to create a new branch and switch to it with git checkout").text


def test_follow_up_of_a_follow_up_keeps_the_original_topic() -> None:
    history = [("user", "What is dropout?"), ("assistant", "..."), ("user", "and its drawbacks?")]
    expected = "What is dropout? and its drawbacks? what about its rate?"
    assert resolve_followup("what about its rate?", history) == expected


def test_follow_up_respects_the_query_limit() -> None:
    assert len(resolve_followup("and it?", [("user", "x" * 5000)], limit=100)) <= 100


@pytest.mark.parametrize(("question", "sides"), [
    ("when would I pick MAE over MSE?", ["mae", "mse"]),
    ("LSTMs vs transformers on long sequences", ["lstms", "transformers"]),
    ("what is the difference between L1 and L2 regularization?", ["l1", "l2"]),
    ("private vs protected vs public", ["private", "protected", "public"]),
    ("what is overfitting?", []),
    ("is it over?", []),
])
def test_comparison_sides(question: str, sides: list[str]) -> None:
    assert comparison_sides(question) == sides


# --- composition ----------------------------------------------------------------------------


# --- extractive answers over a hand-made note ------------------------------------------------


def indexed_note(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, name: str, text: str) -> Rag:
    """A container over a fresh corpus holding one note, indexed."""
    settings = make_settings(tmp_path_factory.mktemp(Path(name).stem))
    (settings.corpus_dir / name).write_text(text)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    return rag


@pytest.fixture(scope="module")
def small_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Rag:
    return indexed_note(tmp_path_factory, embedder, "ml.md", NOTE)


def note_lines(*needles: str) -> set[int]:
    return {n for n, line in enumerate(NOTE.split("\n"), 1) if any(s in line for s in needles)}


def assert_well_cited(answer: Answer) -> None:
    assert answer.answered and answer.citations
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    used = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert used == {c.n for c in answer.citations}
    for c in answer.citations:
        assert c.passage.start_line <= c.cited_start <= c.cited_end <= c.passage.end_line
    assert all(line.endswith("]") for line in marked_lines(answer.text))


def test_answer_quotes_the_lines_that_answer(small_rag: Rag) -> None:
    answer = small_rag.ask("How do you use an SVM for multi-class classification?", k=3)
    assert_well_cited(answer)
    first = answer.citations[0]
    assert note_lines("One-vs-One") <= set(range(first.cited_start, first.cited_end + 1))
    assert "One-vs-Rest" in answer.text and answer.mode == "extractive"


def test_code_question_returns_the_code_block(small_rag: Rag) -> None:
    answer = small_rag.ask("Show me PyTorch code for an L1 penalty", k=3)
    assert_well_cited(answer)
    assert "```python\nimport torch.nn as nn" in answer.text and answer.text.count("```") == 2


def test_a_code_block_longer_than_a_chunk_is_quoted_whole_citing_both_chunks(make_rag) -> None:
    rag = make_rag()
    steps = "\n".join(f"    total = total + weight_{n} * input_{n}  # step {n} of the weighted sum" for n in range(60))
    code = f"```python\ndef weighted_sum(**values):\n    total = 0\n{steps}\n    return total\n```"
    (rag.settings.corpus_dir / "sums.md").write_text(f"# Weighted sums\n\nA weighted sum in Python:\n\n{code}\n")
    rag.index()
    assert rag.store.count() > 1  # the block is over the chunk budget, so the chunker split it
    answer = rag.ask("Show me the Python code for a weighted sum", k=3)
    assert_well_cited(answer)
    assert code in answer.text and answer.text.count("```") == 2
    markers = re.search(r"```\n((?:\[\d+\] ?)+)", answer.text)
    assert markers is not None and len(markers.group(1).split()) >= 3  # the block ran over three chunks or more
    chain = [c for c in answer.citations if f"[{c.n}]" in markers.group(1)]
    assert chain[0].cited_end == chain[0].passage.end_line
    assert all(a.passage.end_line < b.passage.end_line and b.cited_start == b.passage.start_line
               for a, b in zip(chain, chain[1:]))


def test_comparison_draws_from_both_sides(small_rag: Rag) -> None:
    answer = small_rag.ask("L1 vs L2 regularization: how do they differ?", k=3)
    assert_well_cited(answer)
    assert "L1" in answer.text and "L2" in answer.text


def test_formula_question_returns_the_formula(small_rag: Rag) -> None:
    answer = small_rag.ask("What is the formula of the RBF kernel?", k=3)
    assert_well_cited(answer)
    assert "K(x, y) = \\exp(-\\gamma \\|x - y\\|^2)" in answer.text


def test_uncovered_question_says_so_and_names_near_topics(small_rag: Rag) -> None:
    answer = small_rag.ask("Who won the football world cup in 1998?", k=3)
    assert not answer.answered and answer.citations == []
    assert "don't cover" in answer.text and "ml.md" in answer.text


def test_follow_up_is_searched_with_its_topic(small_rag: Rag) -> None:
    answer = small_rag.ask("and what are the strategies for many classes?", k=3,
                           history=[("user", "What is an SVM?"), ("assistant", "SVM finds ... [1]")])
    assert answer.search_query.startswith("What is an SVM?")
    assert "One-vs-One" in answer.text


# --- the real notes --------------------------------------------------------------------------


def test_svm_multiclass_cites_its_section(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("SVMs are binary classifiers -- so how do you use them for multi-class problems?")
    assert_well_cited(answer)
    first = answer.citations[0]
    assert first.cited_start >= 1555 and first.cited_end <= 1559
    assert "One-vs-One" in answer.text and "One-vs-Rest" in answer.text


def test_an_answer_is_never_empty_and_prose_after_a_cell_is_read_as_prose(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("If a child class defines its own __init__ and does not call super(), does it get "
                            "the parent's attributes?")
    assert answer.answered and answer.text.strip() and answer.citations
    assert_well_cited(answer)
    assert "super()" in answer.text


def test_real_code_question_returns_a_fenced_block(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("PyTorch example of a model with a dropout layer?")
    assert_well_cited(answer)
    assert re.search(r"```python\n.*nn\.Dropout.*\n```", answer.text, re.S)
    assert answer.citations[0].cited_start >= 4470 and answer.citations[0].cited_end <= 4500


def test_how_to_fix_is_answered_with_the_remedies_from_their_own_section(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("what can I do when my LSTM overfits?")
    assert_well_cited(answer)
    assert "Solutions to Some LSTM Issues" in answer.text and "Dropout and Regularization" in answer.text
    assert "**Description**" not in answer.text  # not a description of the problem


def test_a_named_language_decides_the_code_block(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("C++ code for an abstract class with pure virtual functions (not the python abc one)")
    assert_well_cited(answer)
    assert "```cpp" in answer.text and "```python" not in answer.text


def test_a_misspelt_question_is_answered_from_the_right_section(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("assumptions of logisitc regression")
    assert_well_cited(answer)
    assert "Linearity in Log-Odds" in answer.text and "Homoscedasticity" not in answer.text  # not linear regression's


def test_a_follow_up_gets_the_whole_list_it_asks_for(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("and its disadvantages?", history=[("user", "what is an SVM?"),
                                                               ("assistant", "An SVM finds the widest margin.")])
    assert_well_cited(answer)
    for item in ("Computationally Intensive", "Choice of Kernel", "Hard to Interpret"):
        assert item in answer.text
    assert "Effective in High Dimensions" not in answer.text  # an advantage is no disadvantage


def test_a_name_the_notes_never_use_is_refused_and_named(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("what is the Bonferroni correction for multiple A/B tests?")
    assert not answer.answered and '"bonferroni"' in answer.text and "A/B Testing" in answer.text


def test_chat_filler_in_the_notes_is_never_quoted() -> None:
    from rag.answer.select import is_filler

    for line in ("Let me know if you need more details!", "Yes, that's a great way to put it!",
                 "If you have further questions or need clarification, feel free to ask!"):
        assert is_filler(line)
    assert not is_filler("Yes, QLoRA is a variation of LoRA with quantization applied.")


def test_a_question_on_a_topic_the_notes_only_brush_abstains(corpus_rag: Rag) -> None:
    # The notes name VAEs in passing, never how they are trained (eval/calibration_questions.jsonl).
    answer = corpus_rag.ask("How does the reparameterization trick let a VAE backpropagate through sampling?")
    assert not answer.answered


def test_real_uncovered_question_abstains(corpus_rag: Rag) -> None:
    answer = corpus_rag.ask("What's the formula for the KL divergence between two distributions P and Q?")
    assert not answer.answered and "don't cover" in answer.text


# --- generated answers (stand-in LLM server) -------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[StandInLLM, str]]:
    standin = StandInLLM()
    with running(standin.app()) as url:
        yield standin, url + "/v1"


def llm_rag(small_rag: Rag, url: str | None, timeout: float = 5.0) -> Rag:
    settings = small_rag.settings.model_copy(update={"llm_base_url": url, "llm_timeout": timeout})
    rag = Rag(settings, embedder=small_rag.embedder)
    rag.__dict__["store"] = small_rag.store  # the same index, read only
    return rag


@pytest.fixture(autouse=True)
def reset_llm(request: pytest.FixtureRequest) -> None:
    if "llm" in request.fixturenames:
        standin, _ = request.getfixturevalue("llm")
        standin.failures, standin.delay, standin.reply = 0, 0.0, None
        standin.requests.clear()


def test_llm_answer_is_cited_and_bogus_markers_dropped(small_rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, url = llm
    answer = llm_rag(small_rag, url).ask("How do you use an SVM for multi-class classification?", k=3)
    assert answer.mode == "llm" and answer.answered
    assert "[1]" in answer.text and "[99]" not in answer.text
    assert [c.n for c in answer.citations] == [1]
    prompt = standin.requests[0]["messages"]
    assert prompt[0]["role"] == "system" and "only" in prompt[0]["content"]
    assert "Passage 1 (" in prompt[-1]["content"] and "ml.md" not in prompt[-1]["content"]  # no header to copy
    assert answer.sentences[0].supported and not answer.sentences[-1].supported  # the [99] claim: left out


def test_llm_retries_server_errors(small_rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, url = llm
    standin.failures = 2
    answer = llm_rag(small_rag, url).ask("What are support vectors?", k=3)
    assert answer.mode == "llm" and len(standin.requests) == 3


def test_llm_failure_falls_back_to_extractive(small_rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, url = llm
    standin.failures = 10
    answer = llm_rag(small_rag, url).ask("What are support vectors?", k=3)
    assert answer.mode == "extractive" and answer.answered and "500" in answer.note
    assert len(standin.requests) == 3  # the first try and two retries


def test_llm_timeout_falls_back(small_rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, url = llm
    standin.delay = 1.0
    answer = llm_rag(small_rag, url, timeout=0.2).ask("What are support vectors?", k=3)
    assert answer.mode == "extractive" and "did not answer" in answer.note


def test_llm_answer_without_real_citations_falls_back(small_rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, url = llm
    standin.reply = "Support vectors are magic [42]."
    answer = llm_rag(small_rag, url).ask("What are support vectors?", k=3)
    assert answer.mode == "extractive" and "not supported by the notes" in answer.note


def test_llm_mode_without_endpoint_says_why(small_rag: Rag) -> None:
    answer = llm_rag(small_rag, None).ask("What are support vectors?", k=3, mode="llm")
    assert answer.mode == "extractive" and "RAG_LLM_BASE_URL" in answer.note


def test_unreachable_llm_falls_back(small_rag: Rag, tmp_path: Path) -> None:
    answer = llm_rag(small_rag, "http://127.0.0.1:9/v1", timeout=0.5).ask("What are support vectors?", k=3)
    assert answer.mode == "extractive" and answer.note


def test_units_are_embedded_once_and_a_repeated_question_gets_the_same_answer(small_rag: Rag) -> None:
    rag = Rag(small_rag.settings, embedder=small_rag.embedder)  # a fresh cache over the same index
    embedded: list[str] = []
    real = rag.embedder.embed

    def counting(texts):  # type: ignore[no-untyped-def]
        embedded.extend(texts)
        return real(texts)

    rag.answerer.vectors = VectorCache(SimpleNamespace(embed=counting))  # type: ignore[arg-type]
    question = "How do you use an SVM for multi-class classification?"
    first = rag.ask(question, k=3)
    assert question in embedded and len(embedded) > 4  # the question and every quotable unit of the passages
    embedded.clear()
    again = rag.ask(question, k=3)
    assert embedded == []  # the question's and the units' vectors came from the cache
    assert (again.text, again.citations) == (first.text, first.citations)
    fresh = Rag(small_rag.settings, embedder=small_rag.embedder).ask(question, k=3)
    assert (fresh.text, fresh.citations) == (first.text, first.citations)


# --- comparison tables built from the notes' parallel lines ------------------------------------

COMPARISONS = """# LoRA vs QLoRA

Here is how the two fine-tuning methods compare.

### 1. **Model Size**:
   - **LoRA**: The model size shrinks a little, since only low-rank matrices are trained.
   - **QLoRA**: The model size shrinks much more, thanks to 4-bit quantization of the frozen weights.

### 2. **Training Speed**:
   - **LoRA**: Training is fast because few parameters are updated.
   - **QLoRA**: Training can be slower per step because weights are dequantized on the fly.

### 3. **Use Cases**:
   - **LoRA**: Fine-tuning on a single large GPU.
   - **QLoRA**: Fine-tuning on consumer GPUs with little memory.

# Masked Attention vs Bidirectional Attention

### 1. **Masked Attention**:
- **Purpose**: Stops each token from attending to the tokens after it.
- **Pros**:
  - Makes left-to-right text generation possible.
- **Cons**:
  - Sees only the past context of each token.

### 2. **Bidirectional Attention**:
- **Purpose**: Lets each token attend to the whole sequence at once.
- **Pros**:
  - Gives every token the context on both sides.
- **Cons**:
  - Cannot generate text left to right.

# Gardening

Tomatoes need full sun and deep watering twice a week. Basil grows well next to tomatoes.

# U-Net

U-Net is a convolutional encoder-decoder for image segmentation with skip connections.

### Challenges:
- **Overfitting**: U-Net can overfit on small datasets, though data augmentation and dropout mitigate it.

# Gradient Descent

### Overfitting
- **Problem**: Gradient descent can overfit the training data of an overparameterized model.
- **Solutions**:
  - Use L2 regularization.
  - Apply early stopping on the validation loss.
"""


@pytest.fixture(scope="module")
def table_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Rag:
    return indexed_note(tmp_path_factory, embedder, "compare.md", COMPARISONS)


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.split("\n") if line.startswith("|")]


def test_an_aspect_by_aspect_comparison_becomes_a_table_of_the_asked_aspects(table_rag: Rag) -> None:
    answer = table_rag.ask("lora vs qlora - model size and training speed, table pls")
    assert_well_cited(answer)
    rows = table_rows(answer.text)
    assert rows[0] == ["", "LoRA", "QLoRA"] and rows[1] == ["---", "---", "---"]
    assert [r[0] for r in rows[2:]] == ["**Model Size**", "**Training Speed**"]  # the asked rows, the notes' titles
    assert rows[2][2].startswith("The model size shrinks much more, thanks to 4-bit quantization")
    assert rows[3][1].startswith("Training is fast because few parameters are updated.")
    assert "**LoRA**" not in answer.text  # the column says whose line it is
    lines = COMPARISONS.split("\n")
    cited = [line for c in answer.citations for line in lines[c.cited_start - 1 : c.cited_end]]
    assert any("4-bit quantization" in line for line in cited) and not any("Use Cases" in line for line in cited)


def test_a_side_by_side_layout_gives_each_side_its_pros_and_cons(table_rag: Rag) -> None:
    answer = table_rag.ask("pros n cons of masked attention vs bidirectional attention, can u put them side by side")
    assert_well_cited(answer)
    rows = table_rows(answer.text)
    assert rows[0] == ["", "Masked Attention", "Bidirectional Attention"]
    assert [r[0] for r in rows[2:]] == ["**Pros**", "**Cons**"]
    assert rows[2][1].startswith("Makes left-to-right text generation possible.")
    assert rows[3][2].startswith("Cannot generate text left to right.")


def test_a_table_of_sides_the_notes_never_lay_side_by_side_is_answered_in_prose(table_rag: Rag) -> None:
    answer = table_rag.ask("tomatoes vs basil watering, as a table")
    assert answer.answered and "| |" not in answer.text and "Tomatoes need full sun" in answer.text


def test_a_follow_up_quotes_its_topic_not_another_topics_remedies(table_rag: Rag) -> None:
    history = [("user", "what is U-Net?"), ("assistant", "An encoder-decoder for segmentation.")]
    answer = table_rag.ask("how do i stop it from overfitting? my dataset is tiny", history=history)
    assert "data augmentation and dropout" in answer.text and "early stopping" not in answer.text


def test_a_fresh_process_reads_the_stored_unit_vectors_and_embeds_only_the_question(small_rag: Rag) -> None:
    question = "How do you use an SVM for multi-class classification?"
    expected = Rag(small_rag.settings, embedder=small_rag.embedder).ask(question, k=3)
    rag = Rag(small_rag.settings, embedder=small_rag.embedder)
    embedded: list[str] = []

    class Counting:
        def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
            self.real, self.id, self.max_tokens, self.count_tokens = real, real.id, real.max_tokens, real.count_tokens

        def embed(self, texts):  # type: ignore[no-untyped-def]
            embedded.extend(texts)
            return self.real.embed(texts)

    rag.__dict__["embedder"] = Counting(small_rag.embedder)  # the search's
    rag.__dict__["answer_embedder"] = Counting(small_rag.answer_embedder)  # the answer stage's (int8)
    answer = rag.ask(question, k=3)
    assert (answer.text, answer.citations) == (expected.text, expected.citations)
    assert embedded.count(question) >= 1 and len(embedded) <= 3  # the question (and its search), no unit
    units = unit_texts(rag.answerer.view("ml.md"))
    assert rag.unit_store.count() == len(set(units)) > 10 and rag.answerer.vectors.unstored("ml.md", units) == []


def test_a_citation_is_titled_by_the_heading_of_the_lines_it_quotes(make_rag) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "animals.md").write_text(
        "# Animals\n\n## Wombats\n\n" + "\n\n".join(f"Wombat fact {n}: wombats dig long burrows and sleep in them "
                                                      "during the day." for n in range(7))
        + "\n\n## Quokkas\n\nThe quokka is a small marsupial that lives on Rottnest Island near Perth.\n",
        encoding="utf-8")
    rag.index()
    answer = rag.ask("Where do quokkas live?")
    cited = answer.citations[0]
    assert rag.search("Where do quokkas live?", 1)[0].heading == "Animals > Wombats"  # one chunk, titled by its start
    assert cited.passage.heading == "Animals > Quokkas" and (21, 21) in cited.quoted
