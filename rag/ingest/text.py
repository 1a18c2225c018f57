"""Markdown and plain-text notes: decoded as UTF-8, line endings normalised; Obsidian's front matter, wikilinks
and `#tags` read in markdown notes, with the file's line count kept (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from rag.ingest.base import Extracted, Unreadable
from rag.ingest.outlines import as_lists

FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")  # as rag.ingest.blocks reads it
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)")
# `[[Target#Heading|alias]]`, `![[embed]]`; not after a word character, so `data[['col']]` stays code.
WIKILINK = re.compile(r"(?<![\w\]])(!?)\[\[([^\[\]\n|]+?)(?:\|([^\[\]\n]*))?\]\]")
# Obsidian: `#` after a space or the line's start, then letters, digits, _ - / (one letter at least, checked after).
INLINE_TAG = re.compile(r"(?:(?<=\s)|^)#([\w/-]+)")
MAX_FRONT_MATTER_CHARS = 65_536  # a larger block is not metadata: it stays text


def decode_text(raw: bytes) -> str:
    """UTF-8 text with "\n" line ends, so line numbers match what an editor shows."""
    if b"\x00" in raw:
        raise Unreadable("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_text(raw: bytes, source: str) -> Extracted:
    """A `.txt` note as it is, its indented outlines read as lists (rag.ingest.outlines)."""
    return Extracted("\n".join(as_lists(decode_text(raw).split("\n"))))


def load_markdown(raw: bytes, source: str) -> Extracted:
    """A `.md` note with Obsidian's conventions read: front matter blanked (its `tags` and `aliases` kept),
    `[[wikilinks]]` and `![[embeds]]` as their text, inline `#tags` collected. Line i stays the file's line i."""
    lines = decode_text(raw).split("\n")
    meta, end = front_matter(lines)
    lines[:end] = [""] * end
    tags = set(meta_words(meta, "tags", "tag", split=True))
    fence = ""  # the open code fence's marker
    for i, line in enumerate(lines):
        if opens := FENCE.match(line):
            marker = opens.group(1)
            if not fence:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip().strip(marker[0]):
                fence = ""
            continue
        if fence:
            continue
        tags.update(inline_tags(line))
        lines[i] = outside_code_spans(line, lambda prose: WIKILINK.sub(wikilink_text, prose))
    aliases = set(meta_words(meta, "aliases", "alias", split=False))
    return Extracted("\n".join(lines), tags=tuple(sorted(tags)), aliases=tuple(sorted(aliases)))


def front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """The YAML between a first line `---` and the next `---` or `...`, and how many lines it takes (0 if none).

    A block that isn't a YAML mapping (a typo, or prose between two rules) is no metadata: its lines stay text,
    so the note is indexed with nothing lost rather than skipped over its metadata."""
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return {}, 0
    block = "\n".join(lines[1:end])
    if len(block) > MAX_FRONT_MATTER_CHARS:
        return {}, 0
    try:
        meta = yaml.safe_load(block)
    except (yaml.YAMLError, RecursionError):
        return {}, 0
    if meta is None:
        return {}, end + 1
    return (meta, end + 1) if isinstance(meta, dict) else ({}, 0)


def meta_words(meta: dict[str, Any], key: str, old_key: str, split: bool) -> list[str]:
    """A front matter list or string (`tags: [a, b]`, `tags: a, #b c`) as words, without a leading `#`."""
    value = meta.get(key, meta.get(old_key))
    items = value if isinstance(value, list) else [value]
    words: list[str] = []
    for item in items:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            text = str(item)
            parts = re.split(r"[,\s]+", text) if split else [text]
            words += [part.strip().lstrip("#").strip() for part in parts]
    return [word for word in words if word]


def inline_tags(line: str) -> list[str]:
    """`#tags` of a prose line: not in code spans, not a heading's `#`, not `#123`, `C#`, `&#39;` or `/#frag`."""
    prose = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
    found = []
    for match in INLINE_TAG.finditer(prose):
        tag = match.group(1).strip("/")
        if any(ch.isalpha() for ch in tag):
            found.append(tag)
    return found


def outside_code_spans(line: str, change: Callable[[str], str]) -> str:
    """The line with `change` applied to its prose, its `code spans` as they are."""
    out, start = [], 0
    for span in CODE_SPAN.finditer(line):
        out += [change(line[start:span.start()]), span.group(0)]
        start = span.end()
    return "".join([*out, change(line[start:])])


def wikilink_text(match: re.Match[str]) -> str:
    """`[[Note]]` -> Note, `[[Note|shown]]` -> shown, `[[Note#Part]]` -> Note > Part, `![[a.png]]` -> a.png."""
    embed, target, alias = match.group(1), match.group(2).strip(), (match.group(3) or "").strip()
    if alias and not embed:  # an embed's `|...` is a size or a caption, not the link's text
        return alias
    parts = [part.strip().lstrip("^") for part in target.split("#")]
    if len(parts) > 1 and target.split("#")[-1].startswith("^"):  # a block id names no place a reader sees
        parts = parts[:-1]
    return " > ".join(part for part in parts if part) or target
