"""Saved web pages: the page's main text as markdown, menus, scripts and hidden parts dropped (pure).

bs4 (on lxml) decodes the bytes by their BOM or meta charset and removes the clutter: the page's landmarks other
than its main one, and the link-dense blocks around the main text. markdownify, built on bs4, writes what is left
as the markdown the chunker reads: ATX headings, `-` lists, pipe tables, fenced code.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from bs4 import BeautifulSoup, Comment, Tag, XMLParsedAsHTMLWarning
from markdownify import ATX, MarkdownConverter

from rag.ingest.base import Extracted, Unreadable

MAX_HTML_BYTES = 20_000_000
MAX_TAGS = 200_000  # a long encyclopedia article has about 60,000; converting takes about 50 µs a tag
MAX_OUTPUT_CHARS = 5_000_000
START_TAG = re.compile(rb"<\x00?[A-Za-z!]")  # UTF-16 pages too
# C0 controls other than tab and newlines, and U+FFFD for bytes that decoded to nothing.
BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
CUT_MARKER = "\n\n… (output cut: {} characters kept)"
# What a page shows around its text, not the text itself.
CLUTTER = ("script", "style", "noscript", "template", "nav", "aside", "form", "footer", "iframe", "svg", "canvas",
           "button", "select", "textarea", "input", "object", "embed", "dialog", "head")
# ARIA landmarks that say the same as <nav>, <aside> and a page <footer> on pages built of <div>s.
CLUTTER_ROLES = ("navigation", "complementary", "contentinfo")
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Blocks of blocks: where the main text is looked for, and where link lists are looked for around it.
CONTAINERS = ("body", "main", "article", "section", "div", "header", "center")
# What can be a menu, a "more posts" list or a "powered by" line, down to a lone "Read more" or "Skip to content".
LINK_BLOCKS = (*CONTAINERS, "ul", "ol", "dl", "table", "p", "a")
LINK_DENSE = 0.5  # share of a block's characters inside links, as Readability's cleaning rules count it
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight-source)-([\w+#.-]+)$")
BLANK_RUNS = re.compile(r"\n{3,}")
WORD = re.compile(r"\w")


BASE: Any = MarkdownConverter  # its stubs leave out the documented `convert_<tag>` hooks that subclasses override


class PageConverter(MarkdownConverter):
    """markdownify with links and images as a reader sees them: absolute links kept, images as their alt text."""

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        href = str(el.get("href") or "")
        if not href.startswith(("http://", "https://")) or "_noformat" in parent_tags or not text.strip():
            return text
        return str(BASE.convert_a(self, el, text, parent_tags))

    def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return str(BASE.convert_td(self, el, text.replace("|", "\\|"), parent_tags))

    def convert_th(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return str(BASE.convert_th(self, el, text.replace("|", "\\|"), parent_tags))

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        """A fence longer than any run of backticks in the code, so the code can't close it early."""
        out = str(BASE.convert_pre(self, el, text, parent_tags))
        longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
        if longest and out.startswith("\n\n```") and out.endswith("\n```\n\n"):
            fence = "`" * (longest + 1)
            out = f"\n\n{fence}{out[5:-5]}{fence}\n\n"
        return out

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        """The alt text, unless the figure's caption already says it (pages often set one to the other)."""
        alt = " ".join(str(el.get("alt") or "").split())
        figure = el.find_parent("figure")
        caption = figure.find("figcaption") if figure else None
        return "" if caption and alt in " ".join(caption.get_text(" ").split()) else alt


def load_html(raw: bytes, source: str) -> Extracted:
    """A saved web page's main text (`<main>`, else a lone `<article>`, else the body) as markdown."""
    if len(raw) > MAX_HTML_BYTES:
        raise Unreadable(f"web page too large ({len(raw):,} bytes, the limit is {MAX_HTML_BYTES:,}): "
                         "save only the article (or print it to PDF)")
    tags = len(START_TAG.findall(raw))
    if not tags:
        raise Unreadable("not a web page (no HTML tags in it): save the page again as HTML")
    if tags > MAX_TAGS:
        raise Unreadable(f"web page too large ({tags:,} tags, the limit is {MAX_TAGS:,}): "
                         "save only the article (or print it to PDF)")
    try:
        with warnings.catch_warnings():
            # An XHTML page (an XML declaration first) is HTML still: lxml's HTML parser reads it right and, unlike
            # the XML parser, forgives what saved pages get wrong (&nbsp;, unclosed tags). The warning says nothing.
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(raw, "lxml")
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        root = main_part(soup)
        markdown = to_markdown(root)
    except RecursionError as exc:
        raise Unreadable("web page nested too deeply to read: save it again from a browser") from exc
    if len(BINARY.findall(markdown)) > len(markdown) // 100:
        raise Unreadable("not a web page (binary data): save the page again as HTML")
    if not markdown:
        raise Unreadable("no text in the page once scripts, menus and hidden parts are dropped: "
                         "save the page after it has loaded (File > Save Page As, complete)")
    if title and not markdown.startswith("# ") and "\n# " not in markdown:
        markdown = f"# {' '.join(title.split())}\n\n{markdown}"
    if len(markdown) > MAX_OUTPUT_CHARS:
        markdown = markdown[:MAX_OUTPUT_CHARS].rstrip() + CUT_MARKER.format(f"{MAX_OUTPUT_CHARS:,}")
    return Extracted(markdown)


def main_part(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    """The page without its clutter, narrowed to its main content where the page marks it."""
    for comment in soup.find_all(string=lambda node: isinstance(node, Comment)):
        comment.extract()
    for tag in soup.find_all(is_clutter):
        tag.decompose()
    articles = soup.find_all("article")
    root = soup.find("main") or soup.find(role="main") or (articles[0] if len(articles) == 1 else None)
    if not isinstance(root, Tag) or not root.get_text(strip=True):  # an empty <main> marks nothing
        root = soup.body or soup
    for header in root.find_all("header"):
        if not header.find_parent("article"):  # a page's banner; an article's own header holds its title
            header.decompose()
    unlink_headings(root)
    drop_link_blocks_around_text(root)
    return root


def is_clutter(tag: Tag) -> bool:
    if tag.name in CLUTTER or tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    if str(tag.get("role", "")).lower() in CLUTTER_ROLES:
        return True
    return bool(HIDDEN_STYLE.search(str(tag.get("style") or "")))


def unlink_headings(root: Tag | BeautifulSoup) -> None:
    """Headings as plain text: links around or in them unwrapped, permalinks (`#`, `¶`, an icon) and `[edit]` dropped.

    markdownify writes a link around a heading as `[### Title](url)`, which reads as no heading at all.
    """
    for heading in root.find_all(HEADINGS):
        for link in heading.find_all("a"):
            before, after = link.previous_sibling, link.next_sibling
            if before and after and before.get_text().strip() == "[" and after.get_text().strip() == "]":
                for part in (before, link, after):
                    part.extract()
            elif WORD.search(link.get_text()):
                link.unwrap()
            else:
                link.decompose()
        for link in heading.find_parents("a"):
            link.unwrap()


def drop_link_blocks_around_text(root: Tag | BeautifulSoup) -> None:
    """Drop the link-dense blocks (menus, "more posts", tag clouds, "powered by" lines) outside the main text.

    The main text is found by going down from the root into the child that holds most of its words outside links,
    as long as one does; the link lists inside it (a "See also", a reading list) are the author's and stay.
    """
    node = root
    while inner := text_holder(node):
        for child in node.find_all(True, recursive=False):
            if child is not inner:
                drop_link_blocks(child)
        node = inner


def text_holder(node: Tag | BeautifulSoup) -> Tag | None:
    """The child container holding most of `node`'s words outside links, if one does."""
    total = unlinked_chars(node)
    for child in node.find_all(CONTAINERS, recursive=False):
        if 2 * unlinked_chars(child) > total:
            return child
    return None


def drop_link_blocks(tag: Tag) -> None:
    if tag.name in LINK_BLOCKS and is_link_dense(tag):
        tag.decompose()
    elif tag.name in CONTAINERS:  # not into a paragraph or list: its links are part of its text
        for child in tag.find_all(True, recursive=False):
            drop_link_blocks(child)


def is_link_dense(tag: Tag) -> bool:
    chars = text_chars(tag)
    return chars > 0 and linked_chars(tag) > LINK_DENSE * chars


def unlinked_chars(tag: Tag | BeautifulSoup) -> int:
    return text_chars(tag) - linked_chars(tag)


def linked_chars(tag: Tag | BeautifulSoup) -> int:
    links = [tag] if tag.name == "a" else tag.find_all("a")
    return sum(text_chars(link) for link in links)


def text_chars(tag: Tag | BeautifulSoup) -> int:
    return len("".join(tag.get_text().split()))


def code_language(pre: Tag) -> str:
    """`<pre class="language-x">` or `<pre><code class="language-x">` -> x."""
    for tag in (pre, pre.find("code")):
        if isinstance(tag, Tag):
            for name in tag.get("class") or ():
                if found := LANGUAGE_CLASS.match(name):
                    return found.group(1)
    return ""


def to_markdown(root: Tag | BeautifulSoup) -> str:
    """markdown with "\n" line ends, no trailing spaces and no runs of blank lines."""
    converter = PageConverter(heading_style=ATX, bullets="-", code_language_callback=code_language,
                              escape_underscores=False, escape_asterisks=False, escape_misc=False,
                              table_infer_header=True)
    text = converter.convert_soup(root)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return BLANK_RUNS.sub("\n\n", text).strip("\n")
