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
DROPPED_ROLE = re.compile(r"\s*:(?:label|eqlabel|numref|ref|eqref):`[^`]*`", re.I)  # d2l / Sphinx cross-references
CITE_ROLE = re.compile(r":(?:cite[tp]?|citealp):`([^`]*)`", re.I)  # ":citet:`Sutskever.Martens.ea.2013`"
MARKDOWN_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")  # an image the chat can't show
CALLOUT = re.compile(r"^\[!\w+\][+-]?\s*")  # an Obsidian callout's type: "> [!NOTE] Title"
SPACES = re.compile(r"[ \t]{2,}")
HTML_TABLE = re.compile(r"<table\b[^>]*>(.*?)</table>", re.I | re.S)
HTML_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.I | re.S)
HTML_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t[hd]>", re.I | re.S)
ANY_TAG = re.compile(r"<[^>]+>")


def without_markup(text: str) -> str:
    """Text without layout HTML and comments (their words kept, an image by its alt text or caption) and without
    cross-reference roles (a citation by its authors and year); an empty string if nothing but markup was there."""
    if text.endswith("::"):  # reStructuredText's "... is::" over a literal block reads "... is:"
        text = text[:-1]
    if "<" not in text and ":`" not in text and not text.startswith("[!") and "![" not in text:
        return text
    text = COMMENT.sub("", text)
    text = HTML_TABLE.sub(lambda m: markdown_table(m.group(1)), text)
    text = IMAGE_ALT.sub(lambda m: m.group(1), text)
    if not MARKDOWN_IMAGE.sub("", DROPPED_ROLE.sub("", text)).strip():
        return ""  # a figure alone: its caption says nothing without it
    text = MARKDOWN_IMAGE.sub(lambda m: m.group(1), text)  # an image inside a sentence: its words
    text = CITE_ROLE.sub(lambda m: cited(m.group(1)), text)
    text = HTML_TAG.sub(lambda m: " " if BREAKS.match(m.group(0)) else "", text)
    text = DROPPED_ROLE.sub("", text)
    text = CALLOUT.sub("", text)
    return "\n".join(SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def markdown_table(rows_html: str) -> str:
    """An HTML table as a markdown table on lines of its own (the chat shows HTML as text)."""
    rows = [[SPACES.sub(" ", ANY_TAG.sub("", cell)).strip().replace("|", "\\|") for _, cell in HTML_CELL.findall(row)]
            for row in HTML_ROW.findall(rows_html)]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
    return "\n\n" + "\n".join([lines[0], "|" + "---|" * width, *lines[1:]]) + "\n\n"


def cited(keys: str) -> str:
    """A bibliography key as a reader names the work: "Sutskever.Martens.Dahl.ea.2013" -> "Sutskever et al. 2013"."""
    names = []
    for key in keys.split(","):
        parts = [p for p in key.strip().split(".") if p]
        year = parts[-1] if parts and parts[-1].isdigit() else ""
        authors = [p for p in parts if not p.isdigit() and p != "ea"]
        if not authors:
            continue
        more = " et al." if len(authors) > 2 or "ea" in parts else f" and {authors[1]}" if len(authors) == 2 else ""
        names.append(f"{authors[0]}{more}{' ' + year if year else ''}")
    return "; ".join(names)
