"""Loaders of marked-up notes: Obsidian markdown, saved web pages, Word documents -> markdown the chunker reads."""

from __future__ import annotations

import io
import random
import re
import warnings
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from rag.ingest import Skipped, load_note
from rag.ingest import docx as docx_loader
from rag.ingest import html as html_loader
from rag.ingest.paths import parse_blocks
from rag.ingest.text import load_markdown, load_text
from rag.models import Note, locate
from tests.conftest import MULTI

REAL_NOTE = Path(__file__).resolve().parents[2] / "corpus" / "interview-notes.md"
REAL_PAGES = MULTI


def note_of(raw: bytes, source: str) -> Note:
    note = load_note(raw, source)
    assert isinstance(note, Note), note
    return note


def reason_of(raw: bytes, source: str) -> str:
    skipped = load_note(raw, source)
    assert isinstance(skipped, Skipped), skipped
    return skipped.reason


def block_kinds(text: str) -> list[str]:
    return [block.kind for block in parse_blocks(text.split("\n"))]


# --- Obsidian markdown -------------------------------------------------------------------------------------------

OBSIDIAN = """---
title: Attention
tags: [ml/transformers, "#nlp", 2024]
aliases: [Self-attention, QKV]
---
# Attention #not-a-heading-tag

Links: [[Transformer]], [[Transformer|the paper]], [[Transformer#Encoder]], [[#Local part]], [[Note#^blk1]].
![[diagram.png]] and ![[Other note]] and ![[wide.png|300]].
Tagged #deep-learning and #math/linear-algebra, not #123, not C#, not &#39; nor https://x.org/page#frag.
Inline `#code-tag [[Not a link]]` stays.

```python
# comment #python-tag
x = data[['col']]  # [[Inside code]]
```

~~~
#tilde-tag
~~~
data[['num_feature']] stays as it is.
## Section #in-heading
"""


def test_obsidian_note_front_matter_wikilinks_embeds_and_tags() -> None:
    raw = OBSIDIAN.replace("\n", "\r\n").encode()
    note = note_of(raw, "vault/Attention.md")
    lines = note.text.split("\n")
    assert len(lines) == len(OBSIDIAN.split("\n"))  # line i is the file's line i
    assert lines[:5] == [""] * 5  # the front matter is metadata, not text
    assert lines[5] == "# Attention #not-a-heading-tag"
    assert lines[7] == ("Links: Transformer, the paper, Transformer > Encoder, Local part, Note.")
    assert lines[8] == "diagram.png and Other note and wide.png."
    assert lines[10] == "Inline `#code-tag [[Not a link]]` stays."
    assert lines[14] == "x = data[['col']]  # [[Inside code]]"
    assert lines[20] == "data[['num_feature']] stays as it is."
    assert note.tags == ("2024", "deep-learning", "in-heading", "math/linear-algebra", "ml/transformers", "nlp",
                         "not-a-heading-tag")
    assert note.aliases == ("QKV", "Self-attention")
    assert note.kind == "text"
    assert block_kinds(note.text)[:1] == ["heading"]


def test_front_matter_as_strings_and_old_keys() -> None:
    raw = b"---\ntags: python, oop  design-patterns\nalias: Singleton\n...\nBody #python\n"
    note = note_of(raw, "n.markdown")
    assert note.text == "\n\n\n\nBody #python\n"
    assert note.tags == ("design-patterns", "oop", "python")
    assert note.aliases == ("Singleton",)


def test_malformed_or_prose_front_matter_stays_text() -> None:
    bad = b"---\ntags: [unclosed\n---\nBody\n"
    note = note_of(bad, "n.md")
    assert note.text == bad.decode() and note.tags == ()
    prose = b"---\nJust a paragraph between two rules.\n---\nBody\n"
    assert note_of(prose, "n.md").text == prose.decode()
    unclosed = b"---\ntags: [a]\nBody\n"
    assert note_of(unclosed, "n.md").text == unclosed.decode()


def test_hostile_front_matter_keeps_the_note() -> None:
    nested = b"---\ntags: " + b"[" * 3_000 + b"]" * 3_000 + b"\n---\nBody #kept\n"
    note = note_of(nested, "n.md")  # the YAML parser's recursion ends; the block stays text
    assert note.tags == ("kept",) and note.text == nested.decode()
    laughs = "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")) + "tags: *i\n---\nBody\n"
    assert note_of(laughs.encode(), "n.md").tags == ()  # nested lists of aliases are not tags, and never expanded
    huge = b"---\ntags: [a]\nnote: " + b"x" * 70_000 + b"\n---\nBody\n"
    assert note_of(huge, "n.md").tags == ()


def test_front_matter_only_is_an_empty_note() -> None:
    assert reason_of(b"---\ntags: [a]\n---\n", "n.md") == "empty note"


def test_txt_keeps_wikilinks_and_front_matter() -> None:
    raw = b"---\ntags: [a]\n---\n[[Link]] #tag\n"
    note = note_of(raw, "n.txt")
    assert note.text == raw.decode() and note.tags == ()


def test_real_note_loads_as_before() -> None:
    raw = REAL_NOTE.read_bytes()
    extracted = load_markdown(raw, "interview-notes.md")
    assert extracted.text == load_text(raw, "interview-notes.md").text
    assert extracted.tags == ()  # its `#include` lines are in fenced code


def test_markdown_is_deterministic_and_keeps_line_count_on_random_input() -> None:
    rng = random.Random(7)
    pieces = ["[[", "]]", "|", "#", "#tag", "`", "```", "---", "...", "\n", " ", "a", "![[", "\r\n", ":", "[x]"]
    for _ in range(200):
        text = "".join(rng.choice(pieces) for _ in range(40))
        first = load_markdown(text.encode(), "r.md")
        assert first == load_markdown(text.encode(), "r.md")
        assert first.text.count("\n") == load_text(text.encode(), "r.md").text.count("\n")


# --- Saved web pages ---------------------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="windows-1252"><title>Site \xb7 Caf\xe9</title>
<style>p { color: red }</style><script>var secret = "script text";</script></head><body>
<header><nav><a href="/">Home</a> <a href="/about">About</a></nav>Site banner</header>
<div class="sidebar"><aside>Related posts</aside></div>
<main><article><header><h1>Caf\xe9 notes</h1></header>
<p>Some <strong>bold</strong>, <em>italic</em> and <a href="https://example.org/a">a link</a>; snake_case stays.</p>
<div style="display: none">hidden by style</div><p hidden>hidden by attribute</p><span aria-hidden="true">icon</span>
<h2>Lists</h2><ul><li>one<ul><li>nested</li></ul></li><li>two</li></ul><ol><li>first</li><li>second</li></ol>
<h3>Table</h3><table><tr><th>term</th><th>meaning</th></tr><tr><td>pipe</td><td>a|b</td></tr></table>
<pre><code class="language-python">def f():
    return 1</code></pre>
<form><input value="query"><button>Search</button></form><noscript>enable JavaScript</noscript>
</article></main><footer>Copyright</footer></body></html>"""


def test_web_page_main_text_as_markdown() -> None:
    note = note_of(PAGE.encode("cp1252"), "saved/page.html")
    assert note.kind == "html"
    assert note.text == "\n".join([
        "# Café notes",
        "",
        "Some **bold**, *italic* and [a link](https://example.org/a); snake_case stays.",
        "",
        "## Lists",
        "",
        "- one",
        "  - nested",
        "- two",
        "",
        "1. first",
        "2. second",
        "",
        "### Table",
        "",
        "| term | meaning |",
        "| --- | --- |",
        "| pipe | a\\|b |",
        "",
        "```python",
        "def f():",
        "    return 1",
        "```",
    ])
    assert block_kinds(note.text) == ["heading", "para", "heading", "item", "item", "item", "item", "item",
                                      "heading", "table", "code"]
    assert note.segments == () and locate(note.segments, 1, 3) is None  # cited by the text's own lines
    assert note_of(PAGE.encode("cp1252"), "saved/page.html") == note


def test_web_page_without_main_keeps_body_and_adds_title() -> None:
    raw = ("\ufeff<html><head><title>Notes on  sets</title></head><body><nav>menu</nav>"
           "<p>A set has no duplicates.</p><p></p><p></p><p>Second paragraph.</p></body></html>").encode("utf-8")
    note = note_of(raw, "p.htm")
    assert note.text == "# Notes on sets\n\nA set has no duplicates.\n\nSecond paragraph."


def test_web_page_code_with_backticks_keeps_its_fence() -> None:
    raw = b"<article><pre><code class='language-md'>Text\n```py\nx = 1\n```</code></pre><p>After.</p></article>"
    text = note_of(raw, "c.html").text
    assert text == "````md\nText\n```py\nx = 1\n```\n````\n\nAfter."
    assert block_kinds(text) == ["code", "para"]


def test_web_page_prefers_main_over_the_rest_of_the_body() -> None:
    raw = (b"<body><div>Cookie banner text</div><div role='main'><h2>Real</h2><p>Content.</p></div>"
           b"<div>Newsletter signup</div></body>")
    assert note_of(raw, "m.html").text == "## Real\n\nContent."
    two_articles = b"<body><article><p>First post.</p></article><article><p>Second post.</p></article></body>"
    assert note_of(two_articles, "list.html").text == "First post.\n\nSecond post."
    empty_main = b"<body><main><nav>menu only</nav></main><div><p>The text.</p></div></body>"
    assert note_of(empty_main, "e.html").text == "The text."


def test_web_page_utf16_by_bom() -> None:
    raw = "<html><body><h2>Ünïcode</h2><p>text</p></body></html>".encode("utf-16")
    assert note_of(raw, "u.html").text == "## Ünïcode\n\ntext"


def test_web_page_unreadable_reasons() -> None:
    clutter_only = b"<html><body><script>x()</script><nav>menu</nav><div hidden>h</div></body></html>"
    assert reason_of(clutter_only, "c.html").startswith("no text in the page once scripts, menus")
    assert reason_of(b"plain words, no tags", "w.html").startswith("not a web page (no HTML tags")
    rng = random.Random(3)
    noise = bytes(rng.randrange(1, 256) for _ in range(20_000))
    assert reason_of(noise, "n.html").startswith("not a web page (binary data)")


def test_web_page_hostile_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_loader, "MAX_HTML_BYTES", 1_000)
    assert reason_of(b"<p>" + b"x" * 2_000, "big.html").startswith("web page too large (2,003 bytes")
    monkeypatch.setattr(html_loader, "MAX_HTML_BYTES", 20_000_000)
    monkeypatch.setattr(html_loader, "MAX_TAGS", 100)
    assert reason_of(b"<p>x" * 101, "many.html").startswith("web page too large (101 tags")
    monkeypatch.setattr(html_loader, "MAX_TAGS", 200_000)
    monkeypatch.setattr(html_loader, "MAX_OUTPUT_CHARS", 50)
    text = note_of(b"<p>" + b"word " * 100 + b"</p>", "long.html").text
    assert text.endswith("… (output cut: 50 characters kept)") and len(text) < 100
    deep = b"<html><body>" + b"<div>" * 5_000 + b"deep" + b"</div>" * 5_000 + b"</body></html>"
    assert reason_of(deep, "deep.html").startswith("web page nested too deeply")


def real_page(name: str) -> bytes:
    return (REAL_PAGES / name).read_bytes()


def headings_of(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith("#")]


def test_real_blog_post_is_its_article_with_plain_headings() -> None:
    raw = real_page("v8-blog/standalone-wasm-emscripten.html")
    text = note_of(raw, "v8.html").text
    for clutter in ("Show navigation", "JS/Wasm features", "Retweet", "Posted by", "Branding", "Except as otherwise"):
        assert clutter not in text
    headings = headings_of(text)
    assert "## Using standalone mode in Emscripten" in headings  # its permalink `#` dropped
    assert not [heading for heading in headings if heading.endswith("#") or "[" in heading]
    assert "```c\n// add.c" in text
    # The same page built of <div>s: its menus, banner and byline go by their links, not by their tags.
    divs = re.sub(rb"<(/?)(main|nav|header|footer|article)\b", rb"<\1div", raw)
    assert note_of(divs, "v8.html").text.removesuffix(LICENCE_LINE) == text


LICENCE_LINE = ("\n\nExcept as otherwise noted, any code samples from the V8 project are licensed under "
                "[V8’s BSD-style license](https://chromium.googlesource.com/v8/v8.git/+/master/LICENSE). "
                "Other content on this page is licensed under [the Creative Commons Attribution 3.0 License]"
                "(https://creativecommons.org/licenses/by/3.0/). For details, see our site policies.")


def test_real_wikipedia_page_without_its_menus_and_category_links() -> None:
    text = note_of(real_page("wikipedia/Hermitian_matrix.html"), "hermitian.html").text
    for clutter in ("Jump to navigation", "Retrieved from", "Categories:", "Hidden categories", "1.1 Equality"):
        assert clutter not in text  # the last is the contents box, a role="navigation"
    assert "## Properties" in headings_of(text)
    see_also = text.split("## See also\n\n")[1]
    assert see_also.startswith("- ") and "Skew-Hermitian matrix" in see_also.split("\n\n")[0]  # the author's links stay


def test_web_page_sidebar_and_generator_footer_dropped() -> None:
    raw = b"""<body><div class="wrap"><div class="post"><h1>Heaps</h1>
<p>A binary heap keeps the smallest key at its root, so reading the minimum costs O(1).</p>
<p>Insert and pop cost O(log n): the new key sifts up, the last one sifts down.</p>
<p>See <a href="https://en.wikipedia.org/wiki/Heap">the article</a> for d-ary heaps.</p></div>
<div class="sidebar"><h3>More Posts</h3><ul><li><a href="/tries">Tries</a></li><li><a href="/graphs">Graphs</a></li>
<li><a href="/sorting">Sorting</a></li></ul></div></div>
<div role="contentinfo">Generated by <a href="https://getpelican.com">Pelican</a></div></body>"""
    text = note_of(raw, "heaps.html").text
    assert "More Posts" not in text and "Tries" not in text and "Pelican" not in text
    assert text.endswith("See [the article](https://en.wikipedia.org/wiki/Heap) for d-ary heaps.")


def test_web_page_heading_links_unwrapped() -> None:
    raw = (b"<article><a href='https://blog.example/heaps'><h3>Heaps</h3></a><p>Trees.</p>"
           b"<h2><a href='https://blog.example/tries'>Tries</a> <a class='anchor' href='#tries'>#</a></h2><p>Words.</p>"
           b"<h2 id='graphs'>Graphs<a href='#graphs'><svg><path d='M0'/></svg></a></h2><p>Edges.</p></article>")
    assert headings_of(note_of(raw, "h.html").text) == ["### Heaps", "## Tries", "## Graphs"]


def test_web_page_figure_caption_once() -> None:
    raw = (b"<article><figure><img src='loss.png' alt='Training loss per epoch'>"
           b"<figcaption>Training loss per epoch</figcaption></figure>"
           b"<figure><img src='lr.png' alt='A falling curve'><figcaption>Learning rate decay</figcaption></figure>"
           b"</article>")
    assert note_of(raw, "f.html").text == "Training loss per epoch\n\nA falling curve\n\nLearning rate decay"
    text = note_of(real_page("distill/why-momentum-really-works.html"), "momentum.html").text
    assert text.count("Optimization can be seen as combination of several component problems") == 1


def test_web_page_xhtml_read_without_warnings() -> None:
    banner = b"<!-- " + b"saved by a site generator " * 30 + b"-->\n"  # puts <html> past bs4's first 500 bytes
    raw = b'<?xml version="1.0" encoding="utf-8"?>\n' + banner + real_page("v8-blog/standalone-wasm-emscripten.html")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = note_of(raw, "v8.xhtml.html").text
    assert caught == []
    assert text == note_of(real_page("v8-blog/standalone-wasm-emscripten.html"), "v8.html").text


# --- Word documents ----------------------------------------------------------------------------------------------

def docx_bytes(document) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def numbered(paragraph, num_id: str, level: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Number a paragraph the way Word's own list buttons do: numPr on the paragraph, not a list style."""
    numpr = OxmlElement("w:numPr")
    ilvl, num = OxmlElement("w:ilvl"), OxmlElement("w:numId")
    ilvl.set(qn("w:val"), str(level))
    num.set(qn("w:val"), num_id)
    numpr.append(ilvl)
    numpr.append(num)
    paragraph._p.get_or_add_pPr().append(numpr)


def style_num_id(document, style: str) -> str:  # type: ignore[no-untyped-def]
    return str(document.styles[style].element.pPr.numPr.numId.val)


def test_word_document_as_markdown_in_body_order() -> None:
    document = Document()
    document.add_heading("Study guide", 0)
    document.add_heading("Sorting", 1)
    intro = document.add_paragraph("Quicksort is ")
    intro.add_run("fast").bold = True
    intro.add_run(" on ")
    intro.add_run("average ").italic = True
    intro.add_run("inputs.")
    document.add_paragraph("stable", style="List Bullet")
    document.add_paragraph("merge sort", style="List Bullet 2")
    document.add_paragraph("in place", style="List Bullet")
    document.add_paragraph("pick a pivot", style="List Number")
    document.add_paragraph("partition", style="List Number")
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(table.rows, [("algorithm", "cost"), ("quick|sort", "n log n"), ("bubble", "n\nsquared")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_paragraph("After the table.")
    document.add_heading("Details", 3)
    bullets, steps = style_num_id(document, "List Bullet"), style_num_id(document, "List Number")
    numbered(document.add_paragraph("word bullet", style="List Paragraph"), bullets)
    numbered(document.add_paragraph("word step", style="List Paragraph"), steps)
    numbered(document.add_paragraph("word step two", style="List Paragraph"), steps)
    note = note_of(docx_bytes(document), "guide.docx")
    assert note.kind == "docx"
    assert note.text == "\n".join([
        "# Study guide",
        "",
        "# Sorting",
        "",
        "Quicksort is **fast** on *average* inputs.",
        "",
        "- stable",
        "   - merge sort",
        "- in place",
        "",
        "1. pick a pivot",
        "2. partition",
        "",
        "Before the table.",
        "",
        "| algorithm | cost |",
        "| --- | --- |",
        "| quick\\|sort | n log n |",
        "| bubble | n squared |",
        "",
        "After the table.",
        "",
        "### Details",
        "",
        "- word bullet",
        "",
        "1. word step",
        "2. word step two",
    ])
    assert block_kinds(note.text) == ["heading", "heading", "para", "item", "item", "item", "item", "item",
                                      "para", "table", "para", "heading", "item", "item", "item"]
    assert note.segments == () and locate(note.segments, 1, 3) is None
    assert note_of(docx_bytes(document), "guide.docx").text == note.text


def test_word_text_inside_content_controls_insertions_and_links_is_kept() -> None:
    document = Document()
    document.add_paragraph("Outside.")
    wrapped = document.add_paragraph("Inside a content control.")
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    wrapped._p.addprevious(sdt)
    sdt.append(content)
    content.append(wrapped._p)
    tracked = document.add_paragraph("Tracked ")
    insertion = OxmlElement("w:ins")
    tracked._p.append(insertion)
    insertion.append(tracked.add_run("insertion")._r)
    tracked.add_run(" kept.")
    link = document.add_paragraph("See ")
    hyperlink = OxmlElement("w:hyperlink")
    link._p.append(hyperlink)
    hyperlink.append(link.add_run("the docs")._r)
    assert note_of(docx_bytes(document), "sdt.docx").text == \
        "Outside.\n\nInside a content control.\n\nTracked insertion kept.\n\nSee the docs"


def test_word_document_unreadable_reasons() -> None:
    not_docx = "not a Word document (.docx is a zip file): re-save it from Word as .docx"
    rng = random.Random(5)
    assert reason_of(bytes(rng.randrange(256) for _ in range(4_000)), "r.docx") == not_docx
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as package:
        package.writestr("xl/workbook.xml", "<workbook/>")
    assert reason_of(other_zip.getvalue(), "sheet.docx") == not_docx
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as package:
        package.writestr("word/document.xml", "<not closed")
    assert reason_of(broken.getvalue(), "broken.docx").startswith("not a readable Word document (")
    assert reason_of(docx_bytes(Document()), "empty.docx") == "no text in it"


def zip_with(name: str, size: int, extra: int = 0) -> bytes:
    """A zip with one entry of `size` zeros, written in 1 MB steps so the test never holds it whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        for k in range(extra):
            package.writestr(f"word/media/{k}.bin", b"")
        with package.open(name, "w") as entry:
            step = b"\0" * min(size, 1 << 20)
            for _ in range(size // len(step)):
                entry.write(step)
    return buffer.getvalue()


def test_word_zip_bombs_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = zip_with("word/document.xml", 200 << 20)
    assert len(bomb) < 1_000_000
    assert reason_of(bomb, "bomb.docx").startswith("zip bomb? the .docx unpacks to 209,715,2")
    dense = zip_with("word/document.xml", 8 << 20)
    assert reason_of(dense, "dense.docx").startswith("zip bomb? word/document.xml packs 8,388,608 bytes into")
    monkeypatch.setattr(docx_loader, "MAX_ENTRIES", 50)
    assert reason_of(zip_with("word/document.xml", 10, extra=60), "many.docx").startswith(
        "zip bomb? the .docx holds 62 files")


def test_word_output_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_loader, "MAX_OUTPUT_CHARS", 40)
    document = Document()
    for k in range(10):
        document.add_paragraph(f"paragraph number {k}")
    text = note_of(docx_bytes(document), "long.docx").text
    assert text.endswith("… (output cut: 40 characters kept)") and text.startswith("paragraph number 0")


def test_word_short_bold_paragraphs_are_headings_and_a_second_look_nests() -> None:
    # Word handouts are structured by bold lines, not heading styles (carpentries/Carpentries_MotivationDemotivation)
    document = Document()
    document.add_paragraph().add_run("Motivation – what to do").bold = True
    sub = document.add_paragraph().add_run("Establish value – why is this useful?")
    sub.bold = sub.italic = True
    document.add_paragraph("Connect the material to students’ interests.", style="List Bullet")
    document.add_paragraph().add_run("Demotivation – what not to do").bold = True
    document.add_paragraph("Use the J word. This signals that the problem is trivial.")
    document.add_paragraph().add_run("A whole sentence in bold is emphasis, not a title.").bold = True
    document.add_heading("Further reading", 2)
    document.add_paragraph().add_run("Books").bold = True
    text = note_of(docx_bytes(document), "handout.docx").text
    assert [line for line in text.split("\n") if line.startswith("#")] == [
        "## Motivation – what to do", "### Establish value – why is this useful?",
        "## Demotivation – what not to do", "## Further reading", "### Books"]
    assert "**A whole sentence in bold is emphasis, not a title.**" in text


# Word's equation editor writes OMML (`m:` elements) inside the paragraph, each run in Cambria Math and operators
# upright (`m:sty p`): the XML below is in that shape (we found no permissively licensed .docx of notes with equations
# that this repository may ship, so the document is built here from python-docx plus Word's own markup).
MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"
WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def math_run(text: str, upright: bool = False) -> str:
    style = '<m:rPr><m:sty m:val="p"/></m:rPr>' if upright else ""
    return (f'<m:r>{style}<w:rPr><w:rFonts w:ascii="Cambria Math" w:hAnsi="Cambria Math"/></w:rPr>'
            f"<m:t>{text}</m:t></m:r>")


def omml(xml: str):  # type: ignore[no-untyped-def]
    from docx.oxml import parse_xml
    return parse_xml(f'<m:oMathPara xmlns:m="{MATH}" xmlns:w="{WORD}">{xml}</m:oMathPara>')


QUADRATIC = (  # x = (−b ± √(b² − 4ac)) / 2a, as Word saves it
    math_run("x") + math_run("=", upright=True) + "<m:f><m:fPr><m:ctrlPr/></m:fPr><m:num>" + math_run("−", True)
    + math_run("b") + math_run("±", True) + '<m:rad><m:radPr><m:degHide m:val="1"/></m:radPr><m:deg/><m:e>'
    + "<m:sSup><m:e>" + math_run("b") + "</m:e><m:sup>" + math_run("2") + "</m:sup></m:sSup>"
    + math_run("−", True) + math_run("4ac") + "</m:e></m:rad></m:num><m:den>" + math_run("2a") + "</m:den></m:f>")
VARIANCE = (  # σ² = 1/n Σᵢ (xᵢ − μ)², Greek in Word's math italic
    "<m:sSup><m:e>" + math_run("𝜎") + "</m:e><m:sup>" + math_run("2") + "</m:sup></m:sSup>" + math_run("=", True)
    + "<m:f><m:num>" + math_run("1") + "</m:num><m:den>" + math_run("𝑛") + "</m:den></m:f>"
    + '<m:nary><m:naryPr><m:chr m:val="∑"/><m:limLoc m:val="undOvr"/><m:supHide m:val="1"/></m:naryPr>'
    + "<m:sub>" + math_run("𝑖") + "</m:sub><m:sup/><m:e><m:sSup><m:e><m:d><m:dPr><m:ctrlPr/></m:dPr><m:e>"
    + "<m:sSub><m:e>" + math_run("𝑥") + "</m:e><m:sub>" + math_run("𝑖") + "</m:sub></m:sSub>" + math_run("−", True)
    + math_run("𝜇") + "</m:e></m:d></m:e><m:sup>" + math_run("2") + "</m:sup></m:sSup></m:e></m:nary>")
SINE = ('<m:func><m:funcPr><m:ctrlPr/></m:funcPr><m:fName>' + math_run("sin", upright=True) + "</m:fName><m:e>"
        + math_run("𝜃") + "</m:e></m:func>")


def test_word_equations_read_as_latex_inline_and_display() -> None:
    document = Document()
    document.add_heading("Quadratic equations", 1)
    inline = document.add_paragraph("The roots of ")
    inline._p.append(omml("<m:oMath>" + QUADRATIC + "</m:oMath>")[0])  # the m:oMath alone: inline
    inline.add_run(" are real when the discriminant is positive.")
    document.add_paragraph()._p.append(omml('<m:oMathParaPr><m:jc m:val="centerGroup"/></m:oMathParaPr><m:oMath>'
                                            + VARIANCE + "</m:oMath>"))  # an equation on its own line: display
    bold = document.add_paragraph()
    bold.add_run("Angle:").bold = True  # a short bold line, yet no heading: it holds an equation
    bold._p.append(omml("<m:oMath>" + SINE + "</m:oMath>")[0])
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text, table.cell(1, 0).text = "name", "formula", "sine"
    table.cell(1, 1).paragraphs[0]._p.append(omml("<m:oMath>" + SINE + "</m:oMath>")[0])
    text = note_of(docx_bytes(document), "algebra.docx").text
    assert text.split("\n") == [
        "# Quadratic equations",
        "",
        r"The roots of $x=\frac{-b\pm\sqrt{b^{2}-4ac}}{2a}$ are real when the discriminant is positive.",
        "",
        r"$$\sigma^{2}=\frac{1}{n}\sum_{i} {\left(x_{i}-\mu\right)}^{2}$$",
        "",
        r"**Angle:**$\sin\theta$",
        "",
        "| name | formula |",
        "| --- | --- |",
        r"| sine | $\sin\theta$ |"]
    assert block_kinds(text) == ["heading", "para", "para", "para", "table"]  # the chunker's own reading


def test_word_code_paragraphs_fenced_as_one_block() -> None:
    from docx.enum.style import WD_STYLE_TYPE
    document = Document()
    code = document.styles.add_style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
    code.font.name = "Consolas"
    document.add_paragraph("Sort in place:")
    for line in ("def sort(items):", "", "    items.sort()", "    return items", ""):
        document.add_paragraph(line, style="Source Code")
    prose = document.add_paragraph("Call ")
    prose.add_run("sort(xs)").font.name = "Consolas"  # a word of code inside prose stays prose
    prose.add_run(" on a list.")
    for line in ("$ pip install numpy", "", "$ python -c 'import numpy'"):  # typed in Courier New, no code style
        typed = document.add_paragraph()
        typed.add_run(line).font.name = "Courier New"
        mark, fonts = OxmlElement("w:rPr"), OxmlElement("w:rFonts")  # Enter carries the font to the next line's mark
        fonts.set(qn("w:ascii"), "Courier New")
        mark.append(fonts)
        typed._p.get_or_add_pPr().append(mark)
    document.add_paragraph("Done.")
    text = note_of(docx_bytes(document), "sorting.docx").text
    assert text.split("\n") == [
        "Sort in place:", "", "```", "def sort(items):", "", "    items.sort()", "    return items", "```", "",
        "Call sort(xs) on a list.", "", "```", "$ pip install numpy", "", "$ python -c 'import numpy'", "```", "",
        "Done."]
    assert block_kinds(text) == ["para", "code", "para", "code", "para"]
