"""The paged and celled loaders: .ipynb notebooks (nbformat) and .pdf files (pypdfium2), on files written here."""

from __future__ import annotations

import json

import nbformat
import pytest
from fpdf import FPDF
from nbformat import v4

from rag.ingest import Skipped, load_note
from rag.ingest import notebook as notebook_loader
from rag.ingest import pdf as pdf_loader
from rag.ingest.notebook import load_notebook
from rag.ingest.pdf import load_pdf
from rag.models import Location, Note, locate

# --- notebooks -----------------------------------------------------------------------------------------------


def notebook_bytes(cells: list, **metadata: object) -> bytes:
    nb = v4.new_notebook(metadata=metadata)
    nb.cells = cells
    return nbformat.writes(nb).encode()


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def line_no(text: str, line: str) -> int:
    """The 1-based number of the only line of the text equal to `line`."""
    found = [n for n, value in enumerate(lines_of(text), start=1) if value == line]
    assert len(found) == 1, (line, found)
    return found[0]


STUDY_NOTEBOOK = [
    v4.new_markdown_cell("# Gradient descent\n\nWe step against the gradient.\n\n## Learning rate\n- too big: no"),
    v4.new_code_cell("", execution_count=1),  # empty: nothing
    v4.new_code_cell("\n\nlr = 0.1\nfor step in range(3):\n    w -= lr * grad(w)\nprint(w)\n\n", execution_count=7,
                     outputs=[
                         v4.new_output("stream", name="stdout", text="0.5\n\x1b[31mwarm\x1b[0m\n10%\r60%\r100%\n"),
                         v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                             "text/plain": "<Figure size 640x480 with 1 Axes>"}),
                         v4.new_output("display_data", data={"text/html": "<b>html only</b>"}),
                         v4.new_output("execute_result", data={"text/plain": "0.25"}, execution_count=7),
                         v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                       traceback=["\x1b[0;31m----\x1b[0m", "\x1b[0;32m<ipython-input>\x1b[0m in f()",
                                                  "ZeroDivisionError: division by zero"]),
                     ]),
    v4.new_raw_cell("raw text stays text"),
    v4.new_code_cell("print('never ran')"),
]


def test_notebook_cells_become_markdown_code_and_outputs():
    text = load_notebook(notebook_bytes(STUDY_NOTEBOOK), "gd.ipynb").text
    assert text.startswith("# Gradient descent\n\nWe step against the gradient.\n\n## Learning rate\n- too big: no")
    assert "```python\nlr = 0.1\nfor step in range(3):\n    w -= lr * grad(w)\nprint(w)\n```\n" in text
    output = ("```output\n0.5\nwarm\n100%\n\n0.25\n\n"
              "ZeroDivisionError: division by zero\n----\n<ipython-input> in f()\n```")
    assert output in text
    assert "\x1b" not in text and "Figure size" not in text and "html only" not in text and "iVBOR" not in text
    assert "\nraw text stays text\n" in text
    assert "```python\nprint('never ran')\n```" in text
    assert text.count("```python") == 2  # the empty cell made no fence


def test_notebook_segments_locate_source_lines_of_each_cell():
    extracted = load_notebook(notebook_bytes(STUDY_NOTEBOOK), "gd.ipynb")
    text, segments = extracted.text, extracted.segments
    assert [s.cell for s in segments if not s.output] == [1, 3, 4, 5]
    assert [s.execution_count for s in segments if not s.output] == [None, 7, None, None]
    assert [(s.cell, s.execution_count) for s in segments if s.output] == [(3, 7)]
    # cell 3's source starts with two blank lines: `lr = 0.1` is its line 3, `print(w)` its line 6
    lr, print_w = line_no(text, "lr = 0.1"), line_no(text, "print(w)")
    assert locate(segments, lr, print_w) == Location(3, 6, cell=3, execution_count=7)
    assert locate(segments, lr + 1, lr + 2).label() == "cell [7], lines 4\u20135"
    rate = line_no(text, "## Learning rate")
    assert locate(segments, rate, rate) == Location(5, 5, cell=1)
    # the fences are the loader's own lines: outside every segment; an output's lines say so
    assert locate(segments, lr - 1, lr - 1) is None
    result = line_no(text, "0.25")
    assert locate(segments, result, result) == Location(5, 5, cell=3, execution_count=7, output=True)
    assert locate(segments, result, result).label() == "output of cell [7], line 5"  # type: ignore[union-attr]
    assert locate(segments, print_w, result) == Location(6, 6, cell=3, execution_count=7)  # the source says where
    # a range over two cells, from cell 3's code through its output to the raw cell
    raw = line_no(text, "raw text stays text")
    assert locate(segments, print_w, raw) == Location(6, 1, cell=3, cell_end=4, execution_count=7)
    for seg in segments:
        assert all(line.strip() for line in lines_of(text)[seg.start_line - 1 : seg.end_line][:1])


def test_notebook_language_comes_from_its_metadata():
    cell = [v4.new_code_cell("x <- c(1, 2)")]
    kernel = {"name": "ir", "display_name": "R", "language": "R"}
    assert "```r\nx <- c(1, 2)\n```" in load_notebook(notebook_bytes(cell, kernelspec=kernel), "r.ipynb").text
    julia = load_notebook(notebook_bytes(cell, language_info={"name": "julia"}), "j.ipynb").text
    assert julia.startswith("```julia\n")


def test_notebook_fences_inside_cells_do_not_leak():
    cells = [v4.new_code_cell('doc = """\n```\nnot closing\n"""'),
             v4.new_markdown_cell("```python\nleft open"), v4.new_markdown_cell("# After")]
    text = load_notebook(notebook_bytes(cells), "f.ipynb").text
    assert text.startswith('````python\ndoc = """\n```\nnot closing\n"""\n````\n')
    assert "```python\nleft open\n```\n\n# After" in text  # the open fence is closed before the next cell


def test_notebook_is_deterministic_and_a_note_of_kind_notebook():
    raw = notebook_bytes(STUDY_NOTEBOOK)
    assert load_notebook(raw, "a.ipynb") == load_notebook(raw, "a.ipynb")
    note = load_note(raw, "deep/gd.ipynb")
    assert isinstance(note, Note) and note.kind == "notebook" and note.segments[0].cell == 1


def test_an_old_format_notebook_is_upgraded():
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "print(1)", "language": "python", "outputs": [], "prompt_number": 2}]}]}
    extracted = load_notebook(json.dumps(v3).encode(), "old.ipynb")
    assert extracted.text == "```python\nprint(1)\n```\n"
    assert extracted.segments[0].execution_count == 2


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"cells": [\n  {"cell_type": "code",,}\n]}', "not a notebook: the JSON is invalid at line 2, column"),
    (b'{"cells": []}', "no `nbformat` version"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "source": "x", "outputs": [], "execution_count": "two"}]}
    ).encode(), "not a valid notebook: 'two' is not of type 'integer', 'null' at cells[0].execution_count"),
    (b'{"nbformat": 9, "cells": []}', "not a notebook (Unsupported nbformat version 9)"),
    (b"[1, 2]", "not a notebook: the JSON is not an object"),
    (b'{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "not a valid notebook: The notebook is invalid and is missing an expected key: metadata"),
    (b"\x89PNG\r\n\x00\x00", "binary file"),
])
def test_unreadable_notebooks_are_skipped_with_what_to_do(raw, reason):
    skipped = load_note(raw, "bad.ipynb")
    assert isinstance(skipped, Skipped) and reason in skipped.reason, skipped
    assert "re-save" in skipped.reason or "binary" in skipped.reason


def test_a_huge_output_is_cut_with_a_marker_and_stays_small():
    huge = "".join(f"step {n}: loss {1 / (n + 1):.6f}\n" for n in range(800_000))  # ~20 MB of prints
    cells = [v4.new_code_cell("train()", execution_count=1, outputs=[v4.new_output("stream", text=huge)]),
             v4.new_code_cell("many()", outputs=[v4.new_output("stream", text="x" * 3000 + "\n") for _ in range(50)]),
             v4.new_markdown_cell("![plot](data:image/png;base64," + "A" * 500_000 + ")\n## Plot")]
    text = load_notebook(notebook_bytes(cells), "big.ipynb").text
    assert len(text) < 40_000
    assert "step 0: loss 1.000000\n" in text and "step 799999" not in text
    assert f"… (output cut: {len(huge) / 1e6:.0f} MB in all)" in text
    # the cell's limit: three outputs whole, the fourth cut, then a marker for the rest
    assert text.count("x" * 3000) == 3 and "… (output cut: 3,001 chars in all)\n… (46 more outputs cut)" in text
    assert "![plot](data:…)\n## Plot" in text


def test_a_notebook_over_the_byte_limit_is_refused(monkeypatch):
    monkeypatch.setattr(notebook_loader, "MAX_NOTEBOOK_BYTES", 1000)
    skipped = load_note(notebook_bytes([v4.new_markdown_cell("x" * 2000)]), "big.ipynb")
    assert isinstance(skipped, Skipped) and "notebook too large" in skipped.reason and "Clear Output" in skipped.reason


def test_a_notebook_over_the_text_limit_is_cut_between_cells(monkeypatch):
    monkeypatch.setattr(notebook_loader, "MAX_TEXT_CHARS", 100)
    cells = [v4.new_markdown_cell(f"Cell {n} " + "y" * 60) for n in range(10)]
    extracted = load_notebook(notebook_bytes(cells), "long.ipynb")
    assert extracted.text.rstrip().endswith("… (notebook cut: cells 3–10 not read, over 0.0 MB)")
    assert [s.cell for s in extracted.segments] == [1, 2]


# --- PDFs ------------------------------------------------------------------------------------------------------

HEADER = "Machine Learning Notes - Chapter 2"


class NotesPDF(FPDF):
    """Pages with a running header and a "Page n" footer, as word processors print them."""

    def header(self) -> None:
        self.set_font("helvetica", size=9)
        self.cell(0, 8, HEADER, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()}", align="C")


def notes_pdf(pages: list[list[tuple[float, str]]], cls: type[FPDF] = NotesPDF) -> bytes:
    """A PDF of pages of (font size, line) lines, written line by line (no wrapping)."""
    pdf = cls()
    pdf.core_fonts_encoding = "windows-1252"  # for the bullet
    for lines in pages:
        pdf.add_page()
        for size, line in lines:
            pdf.set_font("helvetica", "B" if size > 11 else "", size)
            pdf.cell(0, size * 0.6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


PAGE_1 = [(20, "Regularization"), (11, "We add a penalty, called regulariza-"),
          (11, "tion, to the loss; it is a well-"), (11, "known trick against overfitting."),
          (15, "Kinds of penalty"), (11, "\u2022 L1 gives sparse weights"),
          (11, "\u2022 L2 shrinks every weight"), (11, "1. pick lambda by validation")]
PAGE_2 = [(15, "Early stopping"), (11, "Stop when the validation loss rises; the Hodgkin-"),
          (11, "Huxley model is another story."), (11, "# of epochs is a hyper-"), (11, "parameter too.")]


def test_pdf_text_drops_headers_and_page_numbers_and_keeps_structure():
    text = load_pdf(notes_pdf([PAGE_1, PAGE_2]), "ml.pdf").text
    assert text == (
        "# Regularization\n"
        "We add a penalty, called regularization,\n"
        "to the loss; it is a well-known\n"
        "trick against overfitting.\n"
        "## Kinds of penalty\n"
        "- L1 gives sparse weights\n"
        "- L2 shrinks every weight\n"
        "1. pick lambda by validation\n"
        "\n"
        "## Early stopping\n"
        "Stop when the validation loss rises; the Hodgkin-Huxley\n"
        "model is another story.\n"
        "\\# of epochs is a hyperparameter\n"
        "too.\n")
    assert HEADER not in text and "Page" not in text


def test_pdf_segments_locate_page_and_line():
    pages = [PAGE_1, PAGE_2, [(11, f"Line {n} of page three.") for n in range(1, 6)]]
    extracted = load_pdf(notes_pdf(pages), "ml.pdf")
    text, segments = extracted.text, extracted.segments
    assert [(s.page, s.first_line) for s in segments] == [(1, 1), (2, 1), (3, 1)]
    early = line_no(text, "## Early stopping")
    assert locate(segments, early, early + 1) == Location(1, 2, page=2)
    assert locate(segments, line_no(text, "Line 3 of page three."), line_no(text, "Line 4 of page three.")).label() \
        == "page 3, lines 3\u20134"
    assert locate(segments, line_no(text, "- L2 shrinks every weight"), early) == Location(7, 1, page=1, page_end=2)
    assert locate(segments, early - 1, early - 1) is None  # the blank line between pages


def paragraphs_pdf() -> bytes:
    """One page: a heading, then two paragraphs of three lines each, a wider gap between them."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, "Bias and variance", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for n, paragraph in enumerate((["Bias is the error of wrong assumptions.", "A biased model underfits.",
                                    "It misses the pattern."],
                                   ["Variance is the error of sensitivity to noise.", "It overfits.",
                                    "More data lowers it."])):
        if n:
            pdf.ln(7)
        for line in paragraph:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_a_wider_gap_between_lines_starts_a_paragraph():
    extracted = load_pdf(paragraphs_pdf(), "bv.pdf")
    assert extracted.text == (
        "# Bias and variance\nBias is the error of wrong assumptions.\nA biased model underfits.\n"
        "It misses the pattern.\n\nVariance is the error of sensitivity to noise.\nIt overfits.\n"
        "More data lowers it.\n")
    variance = line_no(extracted.text, "It overfits.")
    assert locate(extracted.segments, variance, variance) == Location(6, 6, page=1)  # blank lines are not counted
    assert locate(extracted.segments, 2, variance).label() == "page 1, lines 2\u20136"  # type: ignore[union-attr]


def test_pdf_page_lines_are_unique_across_a_paragraph_gap():
    extracted = load_pdf(paragraphs_pdf(), "bv.pdf")
    text_lines = lines_of(extracted.text)
    where = [locate(extracted.segments, n, n) for n, line in enumerate(text_lines, start=1) if line]
    assert [(w.page, w.line_start) for w in where if w] == [(1, n) for n in range(1, 8)]  # one page line each
    cited = locate(extracted.segments, line_no(extracted.text, "Bias is the error of wrong assumptions."),
                   line_no(extracted.text, "Variance is the error of sensitivity to noise."))
    assert cited is not None and cited.label() == "page 1, lines 2\u20135"  # 4 lines of text: 4 page lines


def test_pdf_a_line_emptied_by_a_joined_word_ends_its_segment():
    page = [(11, "A hyphenated word at the end of a line: regulariza-"), (11, "tion"), (11, "Next line.")]
    extracted = load_pdf(notes_pdf([page], FPDF), "one.pdf")
    assert extracted.text == "A hyphenated word at the end of a line: regularization\nNext line.\n"
    assert locate(extracted.segments, 2, 2) == Location(3, 3, page=1)  # "Next line." is the page's 3rd line


def test_pdf_running_lines_need_to_repeat():
    # three pages: the header repeats on all, the footer's number follows the page; a title on one page stays
    pages = [[(11, "Intro text one.")], [(11, "Body of two.")], [(11, "Body of three.")]]
    text = load_pdf(notes_pdf(pages), "three.pdf").text
    assert text == "Intro text one.\n\nBody of two.\n\nBody of three.\n"
    single = load_pdf(notes_pdf([[(11, "Only page.")]]), "one.pdf").text  # one page: nothing repeats
    assert single == f"{HEADER}\nOnly page.\n"  # ("Page 1" alone at the bottom is still a page number)


class BookPDF(FPDF):
    """A book's running heads: the chapter's title and the page number, on even and odd pages alike."""

    chapter = ""

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font("helvetica", size=9)
            self.cell(0, 8, f"{self.chapter} {self.page_no() + 10}", new_x="LMARGIN", new_y="NEXT")


def test_pdf_book_heads_go_and_the_title_stays():
    pdf = BookPDF()
    for n, chapter in enumerate(["Shared Notes", "Chapter 1: Loss", "Chapter 1: Loss", "Chapter 2: Trees",
                                 "Chapter 2: Trees", "Chapter 3: Nets"]):
        pdf.chapter = "Shared Notes" if n % 2 else chapter  # the book's title on odd pages
        pdf.add_page()
        pdf.set_font("helvetica", "B" if n == 0 else "", 20 if n == 0 else 11)
        pdf.cell(0, 12, chapter if n == 0 else f"The body text of a page, about {chapter[11:]}.",
                 new_x="LMARGIN", new_y="NEXT")
    text = load_pdf(bytes(pdf.output()), "book.pdf").text
    assert text == ("# Shared Notes\n\nThe body text of a page, about Loss.\n\nThe body text of a page, about Loss.\n\n"
                    "The body text of a page, about Trees.\n\nThe body text of a page, about Trees.\n\n"
                    "The body text of a page, about Nets.\n")


def test_pdf_a_glyph_in_large_type_is_no_heading():
    # a formula's big sums and brackets come out as letters in large type: "X", "XTy", "Pm"
    page = [(20, "Cross-entropy"), (11, "The loss sums over the classes:"), (16, "X"), (11, "y log(p)"),
            (16, "XTy"), (16, "Pm"), (11, "where p is the predicted probability.")]
    assert load_pdf(notes_pdf([page], FPDF), "ce.pdf").text == (
        "# Cross-entropy\nThe loss sums over the classes:\nX\ny log(p)\nXTy\nPm\n"
        "where p is the predicted probability.\n")


def test_pdf_the_lines_under_a_title_are_no_headings():
    # a title on two lines, its authors, its date and its address, then the first section
    page = [(20, "Study Guide: Engineering Productivity"), (20, "with Git, Bash and Vim"),
            (14, "Afshine Amidi and Shervine Amidi"), (14, "November 26, 2018"), (14, "https://stanford.edu/~shervine"),
            (15, "Working in groups"), (11, "Git is a version control system: it tracks the changes"),
            (11, "made to the files of a repository, by whom and when."),
            (15, "Updated: Fall 2020"), (14, "By Jane Doe"), (11, "The end.")]
    assert load_pdf(notes_pdf([page], FPDF), "guide.pdf").text == (
        "# Study Guide: Engineering Productivity\nwith Git, Bash and Vim\nAfshine Amidi and Shervine Amidi\n"
        "November 26, 2018\nhttps://stanford.edu/~shervine\n## Working in groups\n"
        "Git is a version control system: it tracks the changes\nmade to the files of a repository, by whom and when.\n"
        "Updated: Fall 2020\nBy Jane Doe\nThe end.\n")


def bold_titles_pdf() -> bytes:
    """A title, then sections titled by short bold lines at the body's size or a little larger, and a table whose
    header row is bold too, indented from the text above it."""
    pdf = FPDF()
    pdf.add_page()
    for x, style, size, line in [(10, "B", 20, "Machine learning tips"), (10, "", 11, "Notes for the exam."),
                                 (10, "B", 11, "Metrics"), (10, "", 11, "Accuracy counts the right answers."),
                                 (10, "", 11, "Recall counts the positives found."), (10, "B", 12, "Model selection"),
                                 (10, "", 11, "Pick the model by its validation error:"),
                                 (30, "B", 11, "Model Error"), (30, "", 11, "Linear 0.3"), (30, "", 11, "Tree 0.2")]:
        pdf.set_x(x)
        pdf.set_font("helvetica", style, size)
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_a_short_bold_line_over_text_is_a_heading():
    assert load_pdf(bold_titles_pdf(), "tips.pdf").text == (
        "# Machine learning tips\nNotes for the exam.\n## Metrics\nAccuracy counts the right answers.\n"
        "Recall counts the positives found.\n## Model selection\nPick the model by its validation error:\n"
        "Model Error\nLinear 0.3\nTree 0.2\n")


class CheatSheetPDF(FPDF):
    """A cheat sheet's footer: larger than its body text, with the page number inside."""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=10)
        self.cell(0, 8, f"Stanford University {self.page_no()} Fall 2018")


def test_pdf_a_footer_with_the_page_number_goes_after_glyphs_with_no_text():
    # "\x03": a glyph with no Unicode value (TeX's math fonts have many), which PDFium leaves out of the page's
    # text; the lines after it must still get their own font size and place, the footer its own
    pages = [[(8, "Body of page one.")], [(8, "A formula: x \x03 y"), (8, "Body of two.")],
             [(8, "Another: z \x03 w"), (8, "Body of three.")]]
    assert load_pdf(notes_pdf(pages, CheatSheetPDF), "sheet.pdf").text == (
        "Body of page one.\n\nA formula: x  y\nBody of two.\n\nAnother: z  w\nBody of three.\n")


def test_pdf_is_deterministic_and_a_note_of_kind_pdf():
    raw = notes_pdf([PAGE_1, PAGE_2])
    assert load_pdf(raw, "a.pdf") == load_pdf(raw, "a.pdf")
    note = load_note(raw, "ml.pdf")
    assert isinstance(note, Note) and note.kind == "pdf" and note.segments[-1].page == 2


def encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.cell(0, 10, "secret notes")
    pdf.set_encryption(owner_password="owner", user_password="user")
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # what a scan's page is to a text extractor: no text
    pdf.add_page()
    return bytes(pdf.output())


@pytest.mark.parametrize(("make", "reason"), [
    (encrypted_pdf, "encrypted PDF (it needs a password to open): remove the password, e.g. `qpdf --decrypt"),
    (image_only_pdf, "no text layer (a scanned PDF?): OCR it first, e.g. `ocrmypdf in.pdf out.pdf`, and add"),
    (lambda: notes_pdf([PAGE_1])[:600], "not a readable PDF (damaged or truncated): re-export it, or repair it"),
    (lambda: b"%PDF", "not a readable PDF"),
    (lambda: b"", "not a readable PDF"),
])
def test_unreadable_pdfs_are_skipped_with_what_to_do(make, reason):
    skipped = load_note(make(), "bad.pdf")
    assert isinstance(skipped, Skipped) and reason in skipped.reason, skipped


def test_a_pdf_locked_only_against_editing_is_read():
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.cell(0, 10, "owner password only")
    pdf.set_encryption(owner_password="owner")  # no user password: any reader opens it
    assert load_pdf(bytes(pdf.output()), "locked.pdf").text == "owner password only\n"


def test_pdf_over_the_page_limit_is_cut_with_a_marker(monkeypatch):
    monkeypatch.setattr(pdf_loader, "MAX_PAGES", 2)
    pages = [[(11, f"Text on sheet {sheet}.")] for sheet in "ABCD"]
    extracted = load_pdf(notes_pdf(pages), "long.pdf")
    assert extracted.text == \
        "Text on sheet A.\n\nText on sheet B.\n\n… (PDF cut: pages 3–4 not read, the limit is 2 pages)\n"
    assert [s.page for s in extracted.segments] == [1, 2]
    assert locate(extracted.segments, len(lines_of(extracted.text)) - 1, len(lines_of(extracted.text)) - 1) is None


def test_pdf_over_the_text_limits_is_cut(monkeypatch):
    monkeypatch.setattr(pdf_loader, "MAX_TEXT_CHARS", 10)
    pages = [[(11, f"Text on sheet {sheet}.")] for sheet in "ABC"]
    text = load_pdf(notes_pdf(pages, FPDF), "long.pdf").text
    assert text == "Text on sheet A.\n\n… (PDF cut: pages 2–3 not read, over 10 chars of text)\n"
    monkeypatch.setattr(pdf_loader, "MAX_PAGE_CHARS", 12)
    assert load_pdf(notes_pdf([[(11, "A long line of text on the page.")]], FPDF), "p.pdf").text == "A long line\n"
