"""Written answers (rag/answer/written.py and the modules it runs): attribution, the exact-terms check, replies
that are never answers, and the fallback.

No LLM can run here: the end-to-end tests use `StandInLLM` (tests/llm_standin.py), a server speaking the same
OpenAI /v1/chat/completions protocol that answers with the text each test sets, including the kinds of reply a
small local model was seen to give (copies of the passages, bare markers, swapped names, loops).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.exact import missing, swapped, terms_of
from rag.answer.reply import read_reply
from rag.answer.screen import ReplyRejected, screen
from rag.app import Rag
from rag.embed.base import Embedder
from rag.models import answer_json
from rag.serve.models import answer_out
from tests.conftest import make_settings
from tests.llm_standin import StandInLLM, running
from ui.render import render_answer

NOTE = """# Fine-tuning large models

## LoRA

LoRA freezes the pretrained weights and trains two small low-rank matrices in each attention layer.
A LoRA adapter for a 7B model takes about 20 MB on disk.

## QLoRA

QLoRA quantises the frozen base weights to 4 bits and trains LoRA adapters on top of them.
QLoRA is generally smaller in memory than LoRA, so a 65B model fits on a single 48 GB GPU.

# Inheritance in C++

A derived class names its base class after a colon, with an access specifier:

```cpp
class Rectangle : public Shape {
  public:
    double area() const { return width * height; }
};
```

Public inheritance keeps the public members of the base class public in the derived class.
"""
QLORA = "What is QLoRA and how does it differ from LoRA?"
CPP = "How does a class inherit from a base class in C++?"
CODE = "```cpp\nclass Rectangle : public Shape {\n  public:\n    double area() const { return width * height; }\n};\n" \
    "```"


# --- reading, screening and checking a reply (no model, no server) ---------------------------------------------------


def test_code_is_kept_byte_for_byte_and_markers_in_code_are_not_markers() -> None:
    lines = read_reply(f"Use `arr[1]` here [2].\n{CODE}\n[1]")
    sentence, code = lines[0].pieces[0], lines[1].pieces[0]
    assert sentence.text == "Use `arr[1]` here." and sentence.markers == (2,)
    assert code.text == CODE and code.markers == (1,)


def test_a_looping_reply_is_read_once_and_its_cut_sentence_dropped() -> None:
    looped = "QLoRA quantises the weights to 4 bits. " * 30 + "QLoRA also trains"
    lines = read_reply(looped, truncated=True)
    assert [p.text for line in lines for p in line.pieces] == ["QLoRA quantises the weights to 4 bits."]


@pytest.mark.parametrize(("reply", "why"), [
    ("[1] [2] [3]", "no content"),
    ("[1] Passage 1 (Fine-tuning > LoRA):", "header"),
    ("[1] interview-notes.md lines 83-88 (OOP > Abstraction)\nData abstraction hides details.", "header"),
    (f"{QLORA}\nQLoRA is smaller.", "question"),
])
def test_replies_that_are_never_answers(reply: str, why: str) -> None:
    with pytest.raises(ReplyRejected, match=why):
        screen(reply, ["LoRA freezes the weights."], ["Passage 1 (Fine-tuning > LoRA):", QLORA])


def test_a_copied_header_is_caught_when_the_model_is_asked_to_cite() -> None:
    with pytest.raises(ReplyRejected, match="header"):
        screen("[1] (Fine-tuning > QLoRA)\nQLoRA is smaller.", ["QLoRA is smaller."], ["[1] (Fine-tuning > QLoRA)"])


def test_a_copy_of_the_passages_is_rejected_and_a_short_quote_is_not() -> None:
    passage = NOTE.split("## QLoRA")[1]
    with pytest.raises(ReplyRejected, match="copies"):
        screen(passage, [passage], [])
    screen("As the notes put it, QLoRA quantises the frozen base weights to 4 bits.", [passage], [])


def test_numbers_names_code_and_formulas_must_be_the_notes() -> None:
    line = "A LoRA adapter for a 7B model takes about 20 MB, computed as $W = W_0 + BA$ with `r=8`."
    assert missing(terms_of("A LoRA adapter takes about 20 MB."), line) == []
    assert missing(terms_of("A LoRA adapter takes about 30 MB."), line) == ["30"]
    assert missing(terms_of("A QLoRA adapter takes about 20 MB."), line) == ["QLoRA"]
    assert missing(terms_of("The update is $W = W_0 + B A$ with `r=8`."), line) == []  # the same formula
    assert missing(terms_of("Set `r = 8`."), line) == ["`r = 8`"]


def test_a_claim_said_of_the_wrong_name_is_a_swap() -> None:
    line = "QLoRA is generally smaller in memory than LoRA, so a 65B model fits on a single 48 GB GPU."
    assert swapped("LoRA is generally smaller in memory.", line) == "LoRA"
    assert swapped("QLoRA is generally smaller in memory than LoRA.", line) is None


# --- end to end, against the stand-in LLM server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[StandInLLM, str]]:
    standin = StandInLLM()
    with running(standin.app()) as url:
        yield standin, url + "/v1"


@pytest.fixture(scope="module")
def rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, llm: tuple[StandInLLM, str]) -> Rag:
    settings = make_settings(tmp_path_factory.mktemp("written"), llm_base_url=llm[1], llm_timeout=5.0)
    (settings.corpus_dir / "tuning.md").write_text(NOTE)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    return rag


@pytest.fixture(autouse=True)
def fresh_standin(llm: tuple[StandInLLM, str]) -> None:
    standin = llm[0]
    standin.reply, standin.write, standin.finish_reason, standin.failures = None, None, "stop", 0
    standin.requests.clear()


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(NOTE.split("\n"), 1) if text in line)


def test_a_freely_written_answer_is_attributed_sentence_by_sentence(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = ("QLoRA stores the frozen base weights in 4 bits and trains LoRA adapters on them.\n"
                     "It needs less memory than LoRA, so a 65B model fits on a single 48 GB GPU.")
    answer = rag.ask(QLORA, k=3)
    assert answer.mode == "llm" and answer.answered and not answer.note
    body = standin.requests[0]
    assert body["max_tokens"] == rag.settings.llm_max_tokens
    assert "[1]" not in body["messages"][0]["content"] and "lines" not in body["messages"][-1]["content"]
    assert answer.text.split("\n") == [
        "QLoRA stores the frozen base weights in 4 bits and trains LoRA adapters on them. [1]",
        "It needs less memory than LoRA, so a 65B model fits on a single 48 GB GPU. [1]",
    ]
    quantises, smaller = line_of("QLoRA quantises"), line_of("QLoRA is generally smaller")
    assert [s.cites for s in answer.sentences] == [((1, quantises, quantises),), ((1, smaller, smaller),)]
    assert all(s.supported and s.support >= rag.settings.llm_support_floor for s in answer.sentences)
    assert answer.citations[0].quoted == ((quantises, smaller),)
    assert answer.extractive is not None and answer.extractive.mode == "extractive"


def test_a_swap_and_a_changed_number_are_left_out(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = ("QLoRA stores the frozen base weights in 4 bits and trains LoRA adapters on them. "
                     "LoRA is generally smaller in memory, so a 65B model fits on a single 48 GB GPU. "
                     "With QLoRA a 65B model fits on a single 24 GB GPU. "
                     "LoRA keeps the pretrained weights frozen and trains small low-rank matrices per layer.")
    answer = rag.ask(QLORA, k=3)
    assert answer.mode == "llm", answer.note
    assert "LoRA is generally smaller" not in answer.text
    assert "24 GB" not in answer.text and "2 sentences" in answer.note
    dropped = {s.text: s.reason for s in answer.sentences if not s.supported}
    assert "other than LoRA" in next(why for said, why in dropped.items() if said.startswith("LoRA is generally"))
    assert any("24" in why for why in dropped.values())


def test_a_model_that_cites_keeps_checked_citations(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = "QLoRA quantises the frozen base weights to 4 bits [1]. It is magic [7]."
    answer = rag.ask(QLORA, k=3)
    assert answer.text == "QLoRA quantises the frozen base weights to 4 bits. [1]"
    assert answer.sentences[0].cites[0][1] == line_of("QLoRA quantises")


def test_code_is_kept_byte_for_byte(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = f"A derived class names its base class after a colon, as in `Rectangle : public Shape`.\n{CODE}"
    answer = rag.ask(CPP, k=3)
    assert answer.mode == "llm", answer.note
    assert CODE in answer.text and "`Rectangle : public Shape`" in answer.text
    code = next(s for s in answer.sentences if s.kind == "code")
    assert code.support == 1.0 and code.cites[0][1:] == (line_of("class Rectangle"), line_of("};"))


def test_code_the_notes_do_not_have_is_not_kept(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = ("A derived class names its base class after a colon, with an access specifier.\n"
                     "```cpp\nclass Square : private Shape {};\n```")
    answer = rag.ask(CPP, k=3)
    assert "Square" not in answer.text and "1 sentence" in answer.note


@pytest.mark.parametrize(("make", "why"), [
    (lambda prompt: re.sub(r"(?m)^Passage \d+ .*$", "", prompt.split("Passages:")[1].split("Question:")[0]),
     "copies the passages"),
    (lambda prompt: prompt.split("\n")[2] + "\nQLoRA is smaller.", "header"),
    (lambda prompt: "[1] [2] [3]", "no content"),
    (lambda prompt: "Bananas are yellow. The moon orbits the earth. Paris is in France.", "not supported"),
    (lambda prompt: "The notes don't cover this.", "don't cover"),
])
def test_a_reply_that_is_not_an_answer_gives_the_extractive_one(
        rag: Rag, llm: tuple[StandInLLM, str], caplog: pytest.LogCaptureFixture, make, why: str) -> None:
    standin, _ = llm
    standin.write = make
    with caplog.at_level(logging.WARNING, logger="rag.answer.written"):
        answer = rag.ask(QLORA, k=3)
    assert answer.mode == "extractive" and answer.answered and why in answer.note
    assert "extractive answer" in answer.note and not answer.sentences
    assert "LLM reply rejected" in caplog.text and "it began" in caplog.text


def test_a_question_the_notes_do_not_cover_never_reaches_the_llm(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    answer = rag.ask("What is the boiling point of liquid nitrogen in kelvin?", k=3)
    assert not answer.answered and standin.requests == []


def test_a_reply_cut_at_max_tokens_keeps_its_finished_sentences(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.finish_reason = "length"
    standin.reply = "QLoRA quantises the frozen base weights to 4 bits. " * 20 + "It also trains LoRA"
    answer = rag.ask(QLORA, k=3)
    assert answer.text == "QLoRA quantises the frozen base weights to 4 bits. [1]"


def test_the_time_budget_bounds_retries(rag: Rag, llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.failures = 10
    settings = rag.settings.model_copy(update={"llm_budget": 0.8})
    slow = Rag(settings, embedder=rag.embedder)
    slow.__dict__["store"] = rag.store
    answer = slow.ask(QLORA, k=3)
    assert answer.mode == "extractive" and "500" in answer.note and len(standin.requests) == 1


def test_the_api_and_the_chat_show_each_sentence_and_what_supports_it(rag: Rag,
                                                                      llm: tuple[StandInLLM, str]) -> None:
    standin, _ = llm
    standin.reply = "QLoRA quantises the frozen base weights to 4 bits. Bananas are yellow and sweet."
    answer = rag.ask(QLORA, k=3)
    out = answer_out(answer).model_dump()
    assert answer_json(answer) == answer_out(answer).model_dump(mode="json")  # the web UI's `/answer` data
    kept, dropped = out["sentences"]
    assert kept["supported"] and kept["cites"] == [{"n": 1, "start_line": line_of("QLoRA quantises"),
                                                   "end_line": line_of("QLoRA quantises")}]
    assert not dropped["supported"] and dropped["cites"] == [] and dropped["reason"]
    html = render_answer(answer, 0)
    assert "Bananas" in html and "not supported" in html.lower()  # shown as unsupported, not in the answer
    assert "The notes' own lines" in html and 'id="t0x-c1"' in html  # the extractive quotes, one click away


def test_settings_reach_the_request(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_max_tokens=64, llm_cites=True)
    from rag.answer.generate import build_messages

    assert "[1]" in build_messages("q", "q", [], [], settings.llm_cites)[0]["content"]
