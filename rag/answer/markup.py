"""The notes' own words without the markup a chat answer would show raw: HTML tags, Sphinx roles (pure)."""

from __future__ import annotations

import re

# Layout HTML that notes written for GitHub or a docs site use, shown raw in a chat answer: the tags go, their
# words stay. Inline formatting (<b>, <sup>, <kbd>) and tables are left: the chat renders them.
HTML_TAG = re.compile(r"</?(?:details|summary|br|span|div|p|small|center|font|a|img|hr|picture|source|figure|"
                      r"figcaption|nobr|wbr)\b[^>]*>", re.I)
BREAKS = re.compile(r"</?(?:br|p|div)\b", re.I)  # tags that part words
COMMENT = re.compile(r"<!--.*?-->", re.S)
IMAGE_ALT = re.compile(r"<img\b[^>]*\balt=[\"']([^\"']*)[\"'][^>]*>", re.I)
DROPPED_ROLE = re.compile(r"\s*:(?:label|cite|eqlabel|numref|ref|eqref):`[^`]*`", re.I)  # d2l / Sphinx cross-references
CALLOUT = re.compile(r"^\[!\w+\][+-]?\s*")  # an Obsidian callout's type: "> [!NOTE] Title"
SPACES = re.compile(r"[ \t]{2,}")


def without_markup(text: str) -> str:
    """Text without layout HTML and comments (their words kept, an image by its alt text) and without
    cross-reference roles; an empty string if nothing but markup was there."""
    if "<" not in text and ":`" not in text and not text.startswith("[!"):
        return text
    text = COMMENT.sub("", text)
    text = IMAGE_ALT.sub(lambda m: m.group(1), text)
    text = HTML_TAG.sub(lambda m: " " if BREAKS.match(m.group(0)) else "", text)
    text = DROPPED_ROLE.sub("", text)
    text = CALLOUT.sub("", text)
    return SPACES.sub(" ", text).strip()

