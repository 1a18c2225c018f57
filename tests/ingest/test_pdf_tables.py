"""PDF tables read as markdown tables (rag/ingest/pdf_tables.py), on real cheat sheets of eval/multi/corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.pdf import load_pdf
from rag.models import Location, locate
from tests.conftest import MULTI

CORPUS = MULTI
RNN = CORPUS / "stanford-cs230" / "cheatsheet-recurrent-neural-networks.pdf"
TIPS = CORPUS / "stanford-cs230" / "cheatsheet-deep-learning-tips-tricks.pdf"
SQL = CORPUS / "mit-15-003" / "study-guide-data-retrieval-with-sql.pdf"


def lines_of(path: Path) -> list[str]:
    return load_pdf(path.read_bytes(), path.name).text.split("\n")


def table_after(lines: list[str], header: str) -> list[str]:
    """The markdown table whose header row is `header`: its lines up to the first line that is not a row."""
    start = lines.index(header)
    end = next((n for n in range(start, len(lines)) if not lines[n].startswith("|")), len(lines))
    return lines[start:end]


def test_columns_read_one_after_the_other_become_rows_with_wrapped_cells_joined() -> None:
    table = table_after(lines_of(RNN), "| Advantages | Drawbacks |")
    assert table[1] == "|---|---|"
    assert "| - Possibility of processing input of any length | - Computation being slow |" in table
    assert "| - Computation takes into account historical information " \
           "| - Cannot consider any future input for the current state |" in table
    assert "| - Weights are shared across time |  |" in table


def test_a_row_read_as_one_line_is_cut_at_its_columns() -> None:
    table = table_after(lines_of(RNN), "| Type of gate | Role | Used in |")
    assert table[1:] == ["|---|---|---|",
                         "| Update gate Γu | How much past should matter now? | GRU, LSTM |",
                         "| Relevance gate Γr | Drop previous information? | GRU, LSTM |",
                         "| Forget gate Γf | Erase a cell or not? | LSTM |",
                         "| Output gate Γo | How much to reveal of a cell? | LSTM |"]


def test_a_cell_over_three_lines_is_one_row_and_an_empty_column_stays() -> None:
    table = table_after(lines_of(TIPS), "| Training size | Illustration | Explanation |")
    assert table[2:] == ["| Small |  | Freezes all layers, trains weights on softmax |",
                         "| Medium |  | Freezes most layers, trains weights on last layers and softmax |",
                         "| Large |  | Trains weights on layers and softmax by initializing weights "
                         "on pre-trained ones |"]


def test_row_labels_left_of_the_header_get_an_empty_header_cell() -> None:
    table = table_after(lines_of(TIPS), "|  | Numerical gradient | Analytical gradient |")
    assert table[2].startswith("| Formula |")
    assert any(row.startswith("| Comments |") for row in table)


def test_a_command_column_beside_its_descriptions_keeps_one_command_a_row() -> None:
    table = table_after(lines_of(SQL), "| Command | Description | Example |")
    assert "| ROW_NUMBER() | Ties are given different ranks | 1, 2, 3, 4 |" in table
    assert "| RANK() | Ties are given same rank and skip numbers | 1, 2, 2, 4 |" in table


def test_two_columns_of_prose_are_not_a_table() -> None:
    lines = lines_of(RNN)
    prose = "are a class of neural networks that allow previous outputs to be used as inputs while having"
    assert prose in lines  # the page's left column, as PDFium reads it
    assert "The pros and cons of a typical RNN architecture are summed up in the table below:" in lines
    tables = [line for line in lines if line.startswith("|")]
    assert len(tables) < len(lines) / 4


@pytest.mark.parametrize("path", [RNN, TIPS, SQL], ids=lambda p: p.stem)
def test_every_table_line_is_a_page_line_with_a_place_of_its_own(path: Path) -> None:
    extracted = load_pdf(path.read_bytes(), path.name)
    lines = extracted.text.split("\n")
    places: set[Location] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("…"):
            continue
        place = locate(extracted.segments, number, number)
        assert place is not None and place.page is not None, (number, line)
        assert place not in places, (number, line)
        places.add(place)


def test_a_row_that_only_goes_on_the_one_above_is_joined_to_it() -> None:
    lines = lines_of(CORPUS / "mit-15-003" / "study-guide-engineering-productivity-tips.pdf")
    rows = ["| No existing repository | Initialize repository from local folder | git init |  |",
            "| Unstaged | Revert file to last commit | git checkout -- file |  |",
            "| Staged | Remove file from staging area | git reset HEAD file |  |",
            "| Committed | Go back to a previous commit | git reset --hard prev_commit |  |"]
    assert all(row in lines for row in rows)
    assert "|  | Variance / standard deviation | VAR(col) / STDEV(col) |" in lines_of(SQL)  # a row of its own
