"""BM25 snapshot extras: misspelt words matched to the notes' own, names the notes never use (pure)."""

from __future__ import annotations

from rag.retrieve.lexical import LexicalIndex, with_operators
from rag.store.chunks import StoredChunk

TEXTS = [
    ("Logistic Regression", "Logistic regression predicts a probability with the sigmoid function."),
    ("Encapsulation", "Advantages of encapsulation: data hiding and controlled access."),
    ("U-Net", "U-Net uses skip connections; backpropagation trains it. Gradient descent converges slowly."),
]


def index() -> LexicalIndex:
    return LexicalIndex([StoredChunk(f"n{n}", "n.md", n, n, heading, text, n, "sha", "now")
                         for n, (heading, text) in enumerate(TEXTS, 1)])


def test_a_misspelt_word_becomes_the_notes_word_and_the_rest_is_left_alone() -> None:
    lexical = index()
    assert lexical.correct("assumptions of logisitc regression??") == "assumptions of logistic regression??"
    assert lexical.correct("advantges of encapsulation?") == "advantages of encapsulation?"
    # English words and inflections of the notes' words are no typos, whatever lies one edit away
    assert lexical.correct("what are the fixes for slow convergence") == "what are the fixes for slow convergence"
    assert lexical.correct("Bonferroni correction") == "Bonferroni correction"


def test_names_the_notes_never_use_are_found() -> None:
    lexical = index()
    assert lexical.absent_words("what is the bonferroni correction for many tests?") == ["bonferroni"]
    assert lexical.absent_words("How does NMS remove boxes?") == ["nms"]  # a capitalised acronym counts
    # a typo, a hyphenated word written as one, the start of a longer word, slang and English are no names
    assert lexical.absent_words("logisitc unet backprop ppl kinda whats the problem") == []


def test_operators_are_words_bm25_keeps() -> None:
    # learnxinyminutes/make.md explains `$@`, `$^`, `$<` in comments; pep-0498 explains `!s`, `!r`, `!a`
    assert with_operators("@echo $^\t# $^ is the list of prerequisites").endswith("op_dollar_caret op_dollar_caret")
    assert with_operators("git rebase --onto main; emcc -O3").endswith("op_dash_dash_onto op_dash_O3")
    for text in ("f-strings and k-means", "- an item", "x <= y ? a : b", "---", "**bold**"):
        assert "op_" not in with_operators(text)
    rows = [StoredChunk(f"n{n}", "n.md", n, n, "Make", text, n, "sha", "now") for n, text in enumerate([
        "@echo $@ prints the target name; $< the first prerequisite",
        "the target name and the first prerequisite of a rule",
        "variables hold text; a rule has a target and prerequisites",
    ], 1)]
    assert LexicalIndex(rows).search("what are $@ and $<", 3)[0][0].id == "n1"


def test_words_in_capitals_are_keywords_that_rank_the_notes_writing_them() -> None:
    # mit-15-003's SQL guide writes WHERE and HAVING in a table; prose uses "where" and "having" as English
    rows = [("Filtering", "| WHERE | HAVING |\n| rows | aggregates |"),
            ("Travel", "Where you stay matters: having a map helps, and where to eat, having cash."),
            ("Joins", "An inner join keeps rows where both sides match.")]
    lexical = LexicalIndex([StoredChunk(f"n{n}", "n.md", n, n, h, t, n, "sha", "now")
                            for n, (h, t) in enumerate(rows, 1)])
    assert with_operators("SELECT a WHERE b").endswith("kw_select kw_where")
    assert with_operators("an SVM") == "an SVM"  # no English word: "svm" says it already
    assert [row.heading for row, _ in lexical.search("WHERE vs HAVING", 3)][0] == "Filtering"
    assert [row.heading for row, _ in lexical.search("where vs having", 3)][0] == "Travel"  # English, as typed
