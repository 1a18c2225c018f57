"""Loader throughput: a ~50-page PDF (fpdf2) and 20 notebooks (nbformat) of study-note sizes, read by the loaders.

Prints the median of a few runs as pages per second and notebooks per second; not a test.
Usage: python bench/bench_ingest.py [--pages 50] [--notebooks 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import nbformat
from fpdf import FPDF
from nbformat import v4

from rag.ingest.notebook import load_notebook
from rag.ingest.pdf import load_pdf

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


if __name__ == "__main__":
    main()
