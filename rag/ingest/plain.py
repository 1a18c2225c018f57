"""What search reads of a note's markup: a link by its words, a formula without LaTeX's formatting commands (pure).

Both retrievers read it: the embedder has 256 word pieces a chunk, and a link's address (a 40-character image hash
is about 30 of them) or `\\mathbf{v}_{t-1}` spends them on nothing a question asks about; BM25 sees `\\beta_1` as
`beta_1`, and the reader types `beta1`.
"""

from __future__ import annotations

import re

# `[words](address)` and `![alt](address)`: the words stay. Balanced parentheses one deep inside the address
# (Wikipedia's `Set_(mathematics)`).
LINK = re.compile(r"!?\[([^\[\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))+(?:\s+\"[^\"\n]*\")?\)")
BARE_URL = re.compile(r"<?\bhttps?://[^\s<>()\[\]]+>?")
# Formatting commands whose argument is what the formula says (`\mathbf{v}` is v, `\textrm{ otherwise}` is words).
FONT = re.compile(r"\\(?:math(?:bf|rm|it|sf|tt|cal|bb|frak)|boldsymbol|bm|text(?:rm|bf|it|sf|tt)?|operatorname"
                  r"|mbox)\s*\{([^{}]*)\}")
# Layout that says nothing: environments, sizes, spacing, alignment marks, line breaks with their skip.
LAYOUT = re.compile(r"\\(?:begin|end)\{[a-z*]*\}(?:\{[a-z]*\})?|\\(?:left|right|[bB]igg?[lr]?|displaystyle"
                    r"|textstyle|quad|qquad|nonumber|notag)\b|\\[,;:! ]|\\\\(?:\[[^\]\n]*\])?|&(?=\s*[=<>\\])")
COMMAND = re.compile(r"\\([A-Za-z]+)")  # `\beta` reads as beta
SUBSCRIPT = re.compile(r"\b([A-Za-z]+)_\{?(\d+)\}?(?![\w{])")  # `\beta_1`, `beta_{2}`, `x_1`: beta1, x1
SPACES = re.compile(r"[ \t]{2,}")


def search_text(text: str) -> str:
    """A text as search reads it: links by their words, bare addresses out, formulas without formatting."""
    if "](" in text:
        text = LINK.sub(lambda m: m.group(1), text)
    if "://" in text:
        text = BARE_URL.sub(" ", text)
    if "\\" in text or "_" in text:
        text = plain_math(text)
    return SPACES.sub(" ", text)


def plain_math(text: str) -> str:
    """LaTeX without its formatting: `\\mathbf{v}_{t-1}` -> `v_{t-1}`, `\\beta_1` -> `beta1`, environments out."""
    if "\\" in text:
        for _ in range(2):  # `\mathbf{\hat{x}}` is unwrapped from the inside
            text = FONT.sub(lambda m: m.group(1), text)
        text = LAYOUT.sub(" ", text)
        text = COMMAND.sub(lambda m: m.group(1), text)
    return SUBSCRIPT.sub(r"\1\2", text)
