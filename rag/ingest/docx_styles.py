"""What a Word document's styles say about its paragraphs (pure): each paragraph style's name and numbering, the
default style, the lists' numbering formats, and which styles set code. Read once per document, since python-docx's
`paragraph.style` scans every style on every call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from docx.document import Document as DocumentObject
from docx.styles import BabelFish

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HEADING_STYLE = re.compile(r"^Heading ([1-9])$")
CODE_STYLE = re.compile(r"(?i)\bcode\b|preformatted|verbatim|macro text|plain text|console|listing")
MONOSPACE = re.compile(r"(?i)\bmono(space)?\b|courier|consolas|menlo|monaco|lucida console|inconsolata|\bcode\b")


@dataclass(frozen=True)
class Styles:
    """What the body's paragraphs refer to, read once: python-docx's `paragraph.style` scans every style on
    every call, which made a 3,000-paragraph document take seconds."""

    names: dict[str, str]  # styleId -> its name as Word shows it ("Heading 1", "List Bullet 2")
    numbering: dict[str, tuple[str, int | None]]  # styleId -> (numId, level) its paragraphs are numbered with
    default: str  # the styleId of a paragraph that names none
    formats: dict[str, dict[int, str]]  # numId -> level -> numFmt ("bullet", "decimal", "none"...)
    code: frozenset[str]  # the styleIds (paragraph or character) that set code


def num_pr(ppr: Any) -> tuple[str, int | None]:
    """(numId, level) of a `w:pPr`'s numbering ("", None where it has none)."""
    numpr = ppr.find(f"{W}numPr") if ppr is not None else None
    if numpr is None:
        return "", None
    num_id, ilvl = numpr.find(f"{W}numId"), numpr.find(f"{W}ilvl")
    return (num_id.get(f"{W}val", "") if num_id is not None else "",
            int(ilvl.get(f"{W}val", "0")) if ilvl is not None else None)


def read_styles(document: DocumentObject) -> Styles:
    """The paragraph styles' names and numbering, the default style, and the numbering formats."""
    names: dict[str, str] = {}
    numbering: dict[str, tuple[str, int | None]] = {}
    default = ""
    for style in document.styles.element.iter(f"{W}style"):
        if style.get(f"{W}type") != "paragraph":
            continue
        style_id = style.get(f"{W}styleId", "")
        name = style.find(f"{W}name")
        names[style_id] = BabelFish.internal2ui(name.get(f"{W}val", "")) if name is not None else ""
        numbering[style_id] = num_pr(style.find(f"{W}pPr"))
        if style.get(f"{W}default") in ("1", "true", "on"):
            default = style_id
    return Styles(names, numbering, default, numbering_formats(document), code_styles(document, default))


def code_styles(document: DocumentObject, default: str) -> frozenset[str]:
    """The styles that set code: named so ("Source Code", "HTML Preformatted", "Verbatim Char") or in a monospaced
    font, their own or that of the style they are based on. Never the default paragraph style nor a heading's:
    a document typed all in Courier is prose."""
    styles = {style.get(f"{W}styleId", ""): style for style in document.styles.element.iter(f"{W}style")}

    def font(style_id: str, depth: int = 0) -> str:
        style = styles.get(style_id)
        if style is None or depth > 20:  # a basedOn loop in a broken file
            return ""
        fonts, based = style.find(f"{W}rPr/{W}rFonts"), style.find(f"{W}basedOn")
        own = fonts.get(f"{W}ascii") or fonts.get(f"{W}hAnsi") if fonts is not None else None
        return own or (font(based.get(f"{W}val", ""), depth + 1) if based is not None else "")

    def name(style: Any) -> str:
        node = style.find(f"{W}name")
        return BabelFish.internal2ui(node.get(f"{W}val", "")) if node is not None else ""

    return frozenset(style_id for style_id, style in styles.items()
                     if style_id != default and not HEADING_STYLE.match(name(style)) and name(style) != "Title"
                     and (CODE_STYLE.search(name(style)) or MONOSPACE.search(font(style_id))))


def numbering_formats(document: DocumentObject) -> dict[str, dict[int, str]]:
    """numId -> level -> numFmt ("bullet", "decimal"...), from the numbering part (empty if there is none)."""
    part = next((rel.target_part for rel in document.part.rels.values()
                 if rel.reltype.endswith("/numbering") and not rel.is_external), None)
    if part is None:
        return {}
    root = part.element
    abstract = {node.get(f"{W}abstractNumId"): {int(lvl.get(f"{W}ilvl", "0")): fmt.get(f"{W}val", "")
                                                for lvl in node.iter(f"{W}lvl")
                                                for fmt in lvl.iter(f"{W}numFmt")}
                for node in root.iter(f"{W}abstractNum")}
    formats = {}
    for num in root.iter(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        if ref is not None:
            formats[str(num.get(f"{W}numId"))] = abstract.get(ref.get(f"{W}val"), {})
    return formats
