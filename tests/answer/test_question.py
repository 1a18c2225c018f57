"""Reading a question: its parts, its intent, a named language, a table asked for; the evidence rule (pure)."""

from __future__ import annotations

import pytest

from rag.answer.evidence import judge, share_present, writes_identifier
from rag.answer.question import compared_sides, language, question_parts, table_aspects, wants_code, wants_table
from rag.models import Passage
from rag.retrieve.intents import intents


@pytest.mark.parametrize(("question", "expected"), [
    ("what is dropout and when should I use it?", ["what is dropout", "dropout when should I use it"]),
    ("rnn hidden state update equation + what each term is",
     ["rnn hidden state update equation", "rnn hidden state update equation what each term is"]),
    ("what is overfitting?", ["what is overfitting"]),
    ("how do i fix vanishing gradients? the early layers stop learning", ["how do i fix vanishing gradients"]),
    ("bloom filter: can it give false negatives? false positives?",  # a clause asked by its own "?"
     ["bloom filter: can it give false negatives", "bloom filter false negatives false positives"]),
    ("ways to evaluate an LLM + the weakness of each",
     ["ways to evaluate an LLM", "ways evaluate llm the weakness of each"]),
    ("tar: packing a folder with gzip, and listing an archive's files",  # two things asked after a colon
     ["tar: packing a folder with gzip, and listing an archive's files", "tar packing a folder with gzip",
      "tar listing an archive's files"]),
    ("python: how do I read a file, and what encoding?", ["python: how do I read a file",
                                                         "python read file what encoding"]),
])
def test_a_multi_part_question_gives_parts_that_carry_its_subject(question: str, expected: list[str]) -> None:
    assert question_parts(question) == expected


def test_each_side_of_a_three_way_comparison_is_a_part_with_what_is_asked_of_all() -> None:
    assert question_parts("in-order vs pre-order vs post-order traversal order")[1:] == [
        "in-order traversal order", "pre-order traversal order", "post-order traversal order"]


def test_aspects_and_compared_sides_are_parts_of_their_own() -> None:
    parts = question_parts("lora vs qlora - model size, training speed and performance")
    assert {"lora qlora model size", "lora qlora training speed", "lora qlora performance"} <= set(parts)
    sides = question_parts("pros and cons of masked attention vs bidirectional attention")
    assert sides[1:] == ["masked attention pros cons", "bidirectional attention pros cons"]


@pytest.mark.parametrize(("question", "wanted"), [
    ("how do i fix vanishing gradients?", {"fix"}),
    ("my LSTM overfits, what can i do about it?", {"fix"}),
    ("advantges of encapsulation?", {"pros"}),
    ("why bother with interfaces, what do I gain?", {"pros"}),
    ("downsides of IoU loss?", {"cons"}),
    ("limitations of LSTM", {"cons"}),
    ("assumptions of logistic regression", {"assume"}),
    ("what is a ROC curve", {"define"}),
    ("where do people use RNNs in practice?", {"use"}),
])
def test_intent_is_what_the_question_wants(question: str, wanted: set[str]) -> None:
    assert intents(question) == wanted


def test_a_named_language_is_read_and_a_ruled_out_one_is_not() -> None:
    assert language("In C++ (not the python abc stuff) how do I write an abstract class?") == "c++"
    assert language("python example pls") == "python"
    assert language("what is an abstract class?") is None
    assert wants_code("show me how to do both in python") and not wants_code("what is python's GIL?")


def test_a_table_is_asked_for() -> None:
    assert wants_table("lora vs qlora, table pls") and wants_table("put them side by side")
    assert not wants_table("what is a tablespoon")


def passage(text: str, heading: str = "") -> Passage:
    return Passage("p", "n.md", 1, 1 + text.count("\n"), heading, text)


def test_refusal_by_evidence() -> None:
    near = [passage("Bidirectional RNNs (BiRNN) read the sequence both ways; useful for translation.")]
    # a name the notes never use refuses unless the match is strong
    assert not judge(0.55, 0.52, ["bonferroni"], "bonferroni correction?", near).answered
    assert judge(0.70, 0.52, ["cutoff"], "what iou cutoff?", near).answered
    # just below the floor, a question whose words all occur in the top passages is answered
    assert judge(0.45, 0.52, [], "whats a BiRNN and when is it useful", near).answered
    assert not judge(0.45, 0.52, [], "what is beam search decoding", near).answered
    assert not judge(0.30, 0.52, [], "whats a BiRNN", near).answered  # too far below the floor
    assert share_present("how do i fix a BiRNN", near) == 1.0  # "fix" is what is asked, not what about
    assert share_present("BiRNN translation difference formula", near) == 1.0  # asked of any subject
    assert share_present("BiRNN translation decoding", near) < 1.0


def test_a_name_from_code_the_passages_write_is_evidence() -> None:
    near = [passage('```python\ndef set_open_params(model="gpt-3.5-turbo", temperature=0.7):\n```')]
    asked = "default params in set_open_params? model, temperature"
    assert writes_identifier(asked, near) and judge(0.41, 0.52, [], asked, near).answered
    # the same question about a name the passages don't write stays refused, as does one naming no code
    assert not judge(0.41, 0.52, [], "default params in get_open_params? model", near).answered
    assert not writes_identifier("default params? model, temperature", near)
    assert not writes_identifier("what changed in 3.11?", [passage("Python 3.11 is faster.")])  # a version


def test_a_table_question_names_its_sides_and_the_aspects_it_wants_compared() -> None:
    assert compared_sides("lora vs qlora - model size, training speed and performance. table pls") == (
        ["lora"], ["qlora"], ["model", "size", "training", "speed", "performance", "table"])
    assert table_aspects("lora vs qlora - model size, training speed and performance. table pls") == [
        "model size", "training speed", "performance"]
    assert table_aspects("LSTM vs transformer on memory, stability and interpretability - compare in a table?") == [
        "memory", "stability", "interpretability"]
    assert table_aspects("A vs B - table w/ what each one is, what it leads to, and how it shows up") == [
        "what each one is", "what it leads to", "how it shows up"]
    assert table_aspects("pros n cons of masked vs bidirectional attention, side by side") == ["pros", "cons"]
    assert table_aspects("lora vs qlora in a table") == [] and compared_sides("what is lora?") is None
    assert table_aspects("lora vs qlora - model size and training speed, table pls") == ["model size", "training speed"]


@pytest.mark.parametrize("question, code", [
    ("show me the dropout_layer function in pytorch", True),  # an identifier and "show"
    ("write the SQL query for the top 3 salaries", True),
    ("what does the loss function measure?", False),
    ("how do I design a class hierarchy for shapes?", False),
])
def test_code_is_wanted_when_a_question_shows_an_identifier_or_asks_to_see_a_function(question: str,
                                                                                      code: bool) -> None:
    from rag.answer.question import wants_code

    assert wants_code(question) is code


def test_an_interjection_is_no_part_of_the_question_and_results_are_asked_for() -> None:
    from rag.answer.question import read_question

    assert question_parts("nice - and how do I run that wasm file outside the browser?") == [
        "and how do I run that wasm file outside the browser"]  # one part, not "nice" and the question
    assert read_question("what error do I get if I assign a longer list to a slice?").result
    assert not read_question("what is a slice?").result


@pytest.mark.parametrize(("question", "sides"), [
    ("rust: what can't you do with a value while it's borrowed immutably vs mutably?",
     (["value", "borrowed", "immutably"], ["value", "borrowed", "mutably"])),
    ("l2 vs l1 regularisation", (["l2", "regularisation"], ["l1", "regularisation"])),
    ("pre-order vs post-order traversal", (["pre-order", "traversal"], ["post-order", "traversal"])),
    ("hard link vs symlink", (["hard", "link"], ["symlink"])),  # no variant of one word: nothing shared
    ("MAE vs MSE loss", (["mae"], ["mse", "loss"])),
])
def test_sides_one_word_apart_share_the_other_sides_words(question: str, sides: tuple[list[str], list[str]]) -> None:
    compared = compared_sides(question)
    assert compared is not None and compared[:2] == sides
