"""Loader throughput: a ~50-page PDF (fpdf2) and 20 notebooks (nbformat) of study-note sizes, read by the loaders.

Prints the median of a few runs as pages per second and notebooks per second, then the full index (real model,
embedded Chroma) of a mixed folder: the corpus note plus one file of each other kind, beside the corpus alone;
not a test.
Usage: python bench/bench_ingest.py [--pages 50] [--notebooks 20] [--runs 5] [--no-index]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from fpdf import FPDF
from nbformat import v4

from rag.app import Rag
from rag.ingest.notebook import load_notebook
from rag.ingest.pdf import load_pdf
from rag.settings import load_settings

CORPUS_NOTE = Path(__file__).resolve().parent.parent / "corpus" / "interview-notes.md"

TEXT = ("gradient descent minimises the loss by stepping against its gradient; the learning rate sets the step "
         "size, and too large a rate diverges while too small a rate crawls. regularization adds a penalty on the "
         "weights so the model generalises; dropout, weight decay and early stopping are the usual kinds. "
         "cross-validation estimates how well a model generalises from the data it has not seen")
WORDS = TEXT.split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


class Book(FPDF):
    def header(self) -> None:
        self.set_font("helvetica", size=9)
        self.cell(0, 8, "Machine Learning - Lecture Notes", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=9)
        self.cell(0, 8, str(self.page_no()), align="C")


def make_pdf(pages: int, seed: int = 1) -> bytes:
    """About `pages` pages of headings, wrapped paragraphs and lists, with a running header and page numbers."""
    rng = random.Random(seed)
    pdf = Book()
    pdf.add_page()
    section = 0
    while pdf.page_no() < pages or pdf.get_y() < 200:
        section += 1
        pdf.set_font("helvetica", "B", 15)
        pdf.cell(0, 10, f"{section}. Section on {rng.choice(WORDS)}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        for _ in range(3):
            pdf.multi_cell(0, 5.5, " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(6)),
                           new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        for _ in range(4):
            pdf.multi_cell(0, 5.5, f"- {sentence(rng, rng.randint(5, 12))}", new_x="LMARGIN", new_y="NEXT")
        if pdf.page_no() > pages:
            break
    return bytes(pdf.output())


def make_notebook(seed: int) -> bytes:
    """A study notebook: 30 cells, markdown explanations and code with prints, a table repr and a picture."""
    rng = random.Random(seed)
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    for n in range(15):
        nb.cells.append(v4.new_markdown_cell(f"## Step {n}\n\n" + " ".join(sentence(rng, 14) for _ in range(4))))
        code = "\n".join(f"x{k} = model.fit(data[{k}], lr={rng.random():.3f})" for k in range(rng.randint(3, 12)))
        outputs = [v4.new_output("stream", text="".join(f"epoch {e}: loss {rng.random():.4f}\n" for e in range(30)))]
        if n % 3 == 0:
            outputs.append(v4.new_output("execute_result", execution_count=n + 1, data={
                "text/plain": "\n".join(f"{k:3d}  {rng.random():.3f}  {rng.random():.3f}" for k in range(20)),
                "text/html": "<table>...</table>"}))
        if n % 5 == 0:
            outputs.append(v4.new_output("display_data", data={"image/png": "iVBORw0KGgo" * 2000,
                                                              "text/plain": "<Figure size 640x480 with 1 Axes>"}))
        nb.cells.append(v4.new_code_cell(code, execution_count=n + 1, outputs=outputs))
    return nbformat.writes(nb).encode()


def make_web_page(seed: int) -> bytes:
    rng = random.Random(seed)
    sections = "".join(f"<h2>Part {n}</h2><p>{' '.join(sentence(rng, 15) for _ in range(5))}</p>"
                       f"<ul>{''.join(f'<li>{sentence(rng, 8)}</li>' for _ in range(4))}</ul>" for n in range(12))
    return (f"<html><head><title>Saved page</title><script>x()</script></head><body><nav>menu</nav>"
            f"<main><h1>Saved lecture</h1>{sections}</main><footer>(c)</footer></body></html>").encode()


def make_word(seed: int) -> bytes:
    from docx import Document

    rng = random.Random(seed)
    document = Document()
    for n in range(12):
        document.add_heading(f"Topic {n}", level=2)
        document.add_paragraph(" ".join(sentence(rng, 15) for _ in range(5)))
        for _ in range(3):
            document.add_paragraph(sentence(rng, 8), style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_obsidian(seed: int) -> bytes:
    rng = random.Random(seed)
    body = "\n\n".join(f"## [[Topic {n}|Part {n}]]\n\n{' '.join(sentence(rng, 15) for _ in range(5))} #ml"
                       for n in range(12))
    return f"---\ntags: [ml, study]\naliases: [Vault note]\n---\n# Vault\n\n{body}\n".encode()


def index_seconds(files: dict[str, bytes]) -> tuple[float, int]:
    """Seconds and chunks of a full index of a fresh folder of these files (the model loaded beforehand)."""
    with tempfile.TemporaryDirectory() as root:
        settings = load_settings(corpus_dir=Path(root) / "corpus", data_dir=Path(root) / "data")
        settings.corpus_dir.mkdir()
        for name, data in files.items():
            (settings.corpus_dir / name).write_bytes(data)
        rag = Rag(settings)
        rag.embedder.embed(["warm up"])
        started = time.perf_counter()
        report = rag.index()
        return time.perf_counter() - started, report.chunks


def median_seconds(work: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls, after one warm-up call (imports, PDFium's start)."""
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--notebooks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-index", action="store_true", help="only the loaders, not the mixed-folder index")
    args = parser.parse_args()

    raw_pdf = make_pdf(args.pages)
    extracted = load_pdf(raw_pdf, "book.pdf")
    pages = max(s.page or 0 for s in extracted.segments)
    pdf_s = median_seconds(lambda: load_pdf(raw_pdf, "book.pdf"), args.runs)
    print(f"pdf: {pages} pages, {len(raw_pdf) / 1e6:.2f} MB, {len(extracted.text) / 1e3:.0f} k chars of text; "
          f"median {pdf_s * 1000:.1f} ms = {pages / pdf_s:.0f} pages/s")

    notebooks = [make_notebook(seed) for seed in range(args.notebooks)]
    chars = sum(len(load_notebook(raw, "nb.ipynb").text) for raw in notebooks)
    nb_s = median_seconds(lambda: [load_notebook(raw, "nb.ipynb") for raw in notebooks], args.runs)
    size = sum(map(len, notebooks)) / len(notebooks) / 1e3
    print(f"notebooks: {len(notebooks)} of {size:.0f} kB each (30 cells), {chars / len(notebooks) / 1e3:.0f} k chars "
          f"of text each; median {nb_s * 1000:.1f} ms = {len(notebooks) / nb_s:.0f} notebooks/s")
    if args.no_index:
        return
    corpus = {"interview-notes.md": CORPUS_NOTE.read_bytes()}
    others = {"lecture.pdf": make_pdf(10), "lab.ipynb": notebooks[0], "page.html": make_web_page(1),
              "essay.docx": make_word(1), "vault.md": make_obsidian(1)}
    alone_s, alone_chunks = index_seconds(corpus)
    mixed_s, mixed_chunks = index_seconds(corpus | others)
    print(f"full index, corpus alone: {alone_s:.1f} s ({alone_chunks} chunks); corpus + pdf (10 pages), notebook, "
          f"web page, Word, Obsidian note: {mixed_s:.1f} s ({mixed_chunks} chunks, "
          f"{(mixed_s - alone_s) / max(1, mixed_chunks - alone_chunks) * 1000:.0f} ms per extra chunk)")


if __name__ == "__main__":
    main()
