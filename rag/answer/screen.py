"""Replies that are never an answer: a copy of the passages, the prompt's header or question lines repeated, or
nothing once the markers are gone. A small model does all three; each passed the old citation check."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.reply import MARKER
from rag.errors import LLMError

SHINGLE = 8  # words in a row that count as copied
COPIED_SHARE = 0.8  # of the reply's words in copied runs...
COPIED_WORDS = 40  # ...and this many of them, or half of all the words sent: the reply is a copy
MIN_WORDS = 3  # a reply with fewer words once markers and headers are gone says nothing
# "interview-notes.md lines 83-88", "notes.pdf line 4": only the prompt's headers look like this
HEADER = re.compile(r"\b[\w./ -]+\.(?:md|markdown|txt|pdf|ipynb|html?|docx)\s+lines?\s+\d+", re.I)


class ReplyRejected(LLMError):
    """The LLM answered, but its reply is not an answer (the message says why)."""


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def screen(reply: str, sent: Sequence[str], frame: Sequence[str]) -> None:
    """Raise ReplyRejected if the reply copies the passages `sent`, repeats a line of the prompt's `frame`
    (its passage headers and the question), or has no content once markers are removed."""
    bare = MARKER.sub(" ", reply)
    framed = {norm(MARKER.sub(" ", line)) for line in frame if norm(MARKER.sub(" ", line))}
    for line in bare.split("\n"):
        said = norm(re.sub(r"^[\s>*#-]*(?:question|passage \d+|passages)?\s*:?", "", line, flags=re.I))
        if HEADER.search(line) or (said and said in framed) or norm(line) in framed:
            raise ReplyRejected("it repeats the prompt's header or question lines")
    spoken = words(re.sub(r"(?m)^\s*#{1,6}\s.*$", " ", bare))
    if len([w for w in spoken if w.isalpha()]) < MIN_WORDS:
        raise ReplyRejected("it has no content once its markers are removed")
    if is_copy(words(" ".join(said_once(prose(bare)))), sent):
        raise ReplyRejected("it copies the passages instead of answering")


def prose(text: str) -> str:
    """The reply without its code blocks and display formulas, which must be the notes' own."""
    return re.sub(r"(?ms)^\s*(`{3,}|~{3,}).*?^\s*\1[ \t]*$|\$\$.*?\$\$|\\\[.*?\\\]", " ", text)


def said_once(text: str) -> list[str]:
    """The reply's sentences, each once: a model that loops has not copied the passages forty times."""
    return list(dict.fromkeys(s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()))


def norm(text: str) -> str:
    return " ".join(words(text))


def is_copy(spoken: Sequence[str], sent: Sequence[str]) -> bool:
    """Whether most of the reply is runs of SHINGLE words found in the passages, and there is a lot of it."""
    sent_words = [words(text) for text in sent]
    shingles = {tuple(w[i : i + SHINGLE]) for w in sent_words for i in range(len(w) - SHINGLE + 1)}
    covered = [False] * len(spoken)
    for i in range(len(spoken) - SHINGLE + 1):
        if tuple(spoken[i : i + SHINGLE]) in shingles:
            covered[i : i + SHINGLE] = [True] * SHINGLE
    copied = sum(covered)
    total_sent = sum(len(w) for w in sent_words)
    return copied >= COPIED_SHARE * len(spoken) and (copied >= COPIED_WORDS or copied >= total_sent / 2)
