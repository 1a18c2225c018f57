"""BM25 over the stored chunks (bm25s), rebuilt from the store so every process agrees."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from rag.ingest.plain import search_text
from rag.store.chunks import StoredChunk

WORD = re.compile(r"[a-z_][a-z0-9_]*(?:\+\+|#)?")  # "c++", "c#" and "__init__" are words; hyphens split
# Words that say nothing about what a question is about (the answer stage reads questions with them too).
STOPWORDS = frozenset({
    "a", "about", "actually", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "do", "does", "doing", "for", "from", "get", "gets", "give", "has", "have", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "me", "more", "most", "my", "of", "on", "or", "over", "should", "so",
    "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
    "use", "used", "using", "vs", "versus", "was", "we", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your", "between", "difference", "differences", "compare",
    # chat filler and contractions typed without the apostrophe
    "really", "basically", "exactly", "kinda", "sorta", "pls", "plz", "please", "ok", "okay", "hey",
    "whats", "hows", "whens", "wheres", "whys", "thats", "isnt", "arent", "dont", "doesnt", "didnt", "cant",
    "wont", "shouldnt", "wouldnt", "couldnt", "im", "ive", "youre", "u", "ur", "thx", "thanks", "etc",
})
# The operators notes on commands and syntax are about (`$@`, `!r`, `--onto`, `-O3`, `%%time`): punctuation that
# starts a token, before a word or more punctuation. BM25's words (two or more word characters) drop them, so each
# is also written as one word ("$@" -> "op_dollar_at"); a hyphen inside a word ("f-strings") is none.
OPERATOR = re.compile(r"(?<![\w!$%@^&*<>?~=+#-])(?!-+(?:\s|$))[!$%@^&<>?~-](?:[!$%@^&<>?~-]*\w+|[!$%@^&<>?~-]+)"
                      r"(?=[\s,;:.)'\"`]|$)")
SYMBOL_NAMES = {"!": "bang", "$": "dollar", "%": "percent", "@": "at", "^": "caret", "&": "amp", "<": "lt",
                ">": "gt", "?": "qmark", "~": "tilde", "-": "dash"}
# An English word in capitals is a keyword or an acronym ("WHERE vs HAVING", "REST"): also written as its own
# word, so notes that write it that way rank above prose that uses the common word ("where", "having"). An
# acronym that is no English word ("SVM") needs no second word: it would only count twice.
CAPITALS = re.compile(r"\b[A-Z][A-Z0-9_]*[A-Z]\b")
MIN_CORRECTED = 5  # shorter words are left alone: too many real words lie one edit apart


class LexicalIndex:
    """An in-memory BM25 index of a snapshot of the store's rows."""

    def __init__(self, rows: Sequence[StoredChunk]) -> None:
        self.rows = list(rows)
        self.by_id = {row.id: row for row in self.rows}
        self._positions_by_source: dict[str, list[int]] = {}
        for n, row in enumerate(self.rows):
            self._positions_by_source.setdefault(row.source, []).append(n)
        self._bm25: Any = None
        if self.rows:
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index(self._tokenize([lexical_text(r) for r in self.rows], ids=True), show_progress=False)

    @property
    def sources(self) -> set[str]:
        """The notes this snapshot holds."""
        return set(self._positions_by_source)

    @cached_property
    def vocabulary(self) -> Counter[str]:
        """Every word of the notes (lower case), with how often it occurs."""
        return Counter(w for row in self.rows for w in WORD.findall(f"{row.heading}\n{row.text}".lower()))

    @cached_property
    def stems(self) -> set[str]:
        """The stems of the notes' words: an inflection of a word the notes use is no typo."""
        return set(self._stemmer.stemWords(list(self.vocabulary)))

    def correct(self, text: str) -> str:
        """The text with each word the notes never use replaced by the notes' closest word, if one is close.

        A typo ("logisitc") would otherwise match nothing in BM25 and blur the embedding. English words
        and inflections of the notes' words are left alone.
        """
        if not self.rows:
            return text
        return re.sub(r"[A-Za-z][\w+#'-]*", lambda m: self.closest_word(m.group(0).lower(), m.group(0)), text)

    @lru_cache(maxsize=4096)  # noqa: B019 (the index is a snapshot: its answers never change)
    def closest_word(self, word: str, original: str = "") -> str:
        """The notes' most frequent word within one edit (two for long words) of an unknown word, else the word."""
        original = original or word
        if (word in self.vocabulary or len(word) < MIN_CORRECTED or not word.isalpha() or word in english_words()
                or self._stemmer.stemWord(word) in self.stems):
            return original
        from rapidfuzz.distance import DamerauLevenshtein

        limit = 1 if len(word) < 8 else 2
        near = [(DamerauLevenshtein.distance(word, w, score_cutoff=limit), -n, w)
                for w, n in self.vocabulary.items() if abs(len(w) - len(word)) <= limit and w[0] == word[0]]
        near = [c for c in near if c[0] <= limit]
        return min(near)[2] if near else original

    def absent_words(self, text: str) -> list[str]:
        """The names and jargon of a text that the notes never use (not English, not a typo of a notes word)."""
        short = {w.lower() for w in re.findall(r"\b[A-Z]{3}\b", text)}  # "KKT", "NMS": acronyms; "ppl": slang
        words = dict.fromkeys(WORD.findall(text.lower()))
        return [w for w in words if (len(w) > 3 or w in short) and w.isalpha() and w not in STOPWORDS
                and w not in self.vocabulary and w not in self.compounds
                and self._stemmer.stemWord(w) not in self.stems | self.english_stems
                and self.closest_word(w) == w and not self.shortens(w)]

    @cached_property
    def compounds(self) -> set[str]:
        """Hyphenated words of the notes written as one ("u-net" -> "unet")."""
        text = " ".join(f"{row.heading} {row.text}" for row in self.rows).lower()
        return {w.replace("-", "") for w in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", text)}

    def shortens(self, word: str) -> bool:
        """True if a word is the start of a longer word of the notes ("backprop" of "backpropagation")."""
        return len(word) >= 5 and any(w.startswith(word) for w in self.vocabulary)

    @cached_property
    def english_stems(self) -> set[str]:
        """Stems of common English words ("downsides" is English because "downside" is)."""
        return set(self._stemmer.stemWords(list(english_words())))

    def note_rows(self, source: str) -> list[StoredChunk]:
        """The chunks of one note, in order."""
        return sorted((self.rows[n] for n in self._positions_by_source.get(source, [])), key=lambda r: r.ordinal)

    @cached_property
    def _stemmer(self) -> Any:
        import Stemmer

        return Stemmer.Stemmer("english")

    def _tokenize(self, texts: list[str], ids: bool) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=ids)

    def search(self, query: str, k: int, sources: Sequence[str] = ()) -> list[tuple[StoredChunk, float]]:
        """The k best rows by BM25 (only rows of `sources` if given), score > 0 only."""
        if self._bm25 is None:
            return []
        tokens = self._tokenize([with_operators(search_text(query))], ids=False)[0]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if sources:
            mask = np.zeros(len(self.rows), dtype=bool)
            for source in sources:
                mask[self._positions_by_source.get(source, [])] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.rows[i], float(scores[i])) for i in top if scores[i] > 0]


def with_operators(text: str) -> str:
    """The text with each operator it uses also written as one word BM25 keeps ("echo $@" -> "… op_dollar_at"),
    and each word in capitals as a keyword ("WHERE" -> "… kw_where")."""
    words = ["op_" + "_".join(SYMBOL_NAMES.get(ch, ch) for ch in op if not ch.isalnum())
             + ("_" + "".join(ch for ch in op if ch.isalnum()) if any(ch.isalnum() for ch in op) else "")
             for op in OPERATOR.findall(text)]
    words += ["kw_" + word.lower() for word in CAPITALS.findall(text) if word.lower() in english_words()]
    return f"{text}\n{' '.join(words)}" if words else text


def lexical_text(row: StoredChunk) -> str:
    """What BM25 sees: the heading path counts, as it does for the embedder; links and formulas as search reads
    them (rag.ingest.plain)."""
    return with_operators(search_text(f"{row.heading}\n{row.text}"))


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The whole words of the packaged model's WordPiece vocabulary: common English, never "corrected"."""
    from rag.embed.base import packaged_model_path

    path = packaged_model_path() / "vocab.txt"
    if not path.is_file():
        return frozenset()
    return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha())
