"""The optional LLM's wording of a card's question (RAG_LLM_BASE_URL): the question only, never its answer."""

from __future__ import annotations

import logging
import re

from rag.answer.generate import post_chat
from rag.answer.question import content_words
from rag.errors import LLMError
from rag.quiz.cards import Card
from rag.settings import Settings

log = logging.getLogger(__name__)
MAX_CHARS = 200
SYSTEM = ("You rewrite flash-card questions so that they read naturally. Keep the meaning and the scope: the "
          "expected answer is given and must still answer the question exactly. Reply with the question only, "
          "on one line, nothing else.")


def phrase_question(settings: Settings, card: Card) -> str:
    """The card's question as the LLM words it; the card's own question if the LLM fails or strays."""
    prompt = f"Question: {card.question}\nExpected answer:\n{card.answer[:1500]}\n\nRewritten question:"
    try:
        reply = post_chat(settings, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}])
    except LLMError as exc:
        log.warning("the LLM did not phrase the question of card %s: %s", card.id, exc)
        return card.question
    return reply_question(reply, card)


def reply_question(reply: str, card: Card) -> str:
    """The LLM's question if it is one line, short, and about what the card's question asks."""
    text = re.sub(r"^\W*(?:question|rewritten question)\s*:\s*", "", reply.strip(), flags=re.I).strip().strip('"')
    asked = {w.rstrip("s") for w in content_words(card.question)}
    kept = {w.rstrip("s") for w in content_words(text)}
    if not text or "\n" in text or len(text) > MAX_CHARS or not asked & kept or text.lower() in card.answer.lower():
        return card.question
    return text
