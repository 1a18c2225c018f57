"""What search reads of markup: links by their words, LaTeX without formatting commands."""

from __future__ import annotations

from rag.ingest import read_note
from rag.ingest.plain import plain_math, search_text
from rag.ingest.view import embed_view
from rag.models import Note
from tests.conftest import MULTI


def test_a_link_reads_as_its_words_and_an_image_as_its_alt_text():
    text = ("maximize ![0/1 knapsack](https://wikimedia.org/api/rest_v1/media/math/render/svg/85620037d368d2136fb3)"
            " over [sets](https://en.wikipedia.org/wiki/Set_(mathematics)) (see https://example.org/a?b=1).")
    assert search_text(text) == "maximize 0/1 knapsack over sets (see )."


def test_latex_formatting_commands_go_and_their_arguments_stay():
    formula = r"\mathbf{v}_t & \leftarrow \beta_1 \mathbf{v}_{t-1} + (1 - \beta_1) \mathbf{g}_t, \\"
    assert plain_math(formula).split() == ["v_t", "leftarrow", "beta1", "v_{t-1}", "+", "(1", "-", "beta1)",
                                           "g_t,"]
    assert plain_math(r"0 & \textrm{ with probability } p") == "0 &  with probability  p"
    assert "begin" not in plain_math(r"\begin{aligned} z^{k+1}&=\beta z^{k} \end{aligned}")


def test_code_and_prose_keep_their_words():
    for text in ("my_var_2 = __init__(x)", "Q&A notes & more", "echo $@ $^ $<", "beta1, beta2 = 0.9, 0.999"):
        assert search_text(text) == text


def test_a_note_full_of_image_links_is_embedded_by_its_words():
    source = "javascript-algorithms/knapsack-problem.md"
    note = read_note(MULTI / source, source)
    assert isinstance(note, Note)
    view = embed_view("Knapsack Problem", note.text)
    assert "wikimedia" not in view and "bounded knapsack" in view
