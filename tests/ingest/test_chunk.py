"""Chunker: structure kept, exact line spans, every chunk within the model's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.embed.base import load_tokenizer, model_max_tokens, packaged_model_path
from rag.ingest import Skipped, load_note, read_note
from rag.ingest.chunk import Budget, chunk_note
from rag.ingest.paths import parse_blocks
from rag.ingest.view import embed_view
from rag.models import Chunk, Note
from rag.tokens import count_budget_tokens
from tests.conftest import MULTI

REAL_NOTE = Path(__file__).resolve().parents[2] / "corpus" / "interview-notes.md"


@pytest.fixture(scope="module")
def model_tokens():
    tokenizer = load_tokenizer(packaged_model_path())
    return lambda text: len(tokenizer.encode(text).ids)


@pytest.fixture(scope="module")
def limit() -> int:
    return model_max_tokens(packaged_model_path())


def budget_for(model_tokens, limit: int, max_tokens: int = 300) -> Budget:
    return Budget(max_tokens, 40, count_budget_tokens, lambda t: model_tokens(t) <= limit)


def note_of(text: str, source: str = "n.md") -> Note:
    note = load_note(text.encode(), source)
    assert isinstance(note, Note)
    return note


def assert_exact_spans(note: Note, chunks: list[Chunk]) -> None:
    lines = note.text.split("\n")
    for c in chunks:
        span = "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.text == span or (c.start_line == c.end_line and c.text in span), (c.start_line, c.end_line)


def test_hash_lines_inside_code_fences_are_code_not_headings(model_tokens, limit):
    text = "# Real heading\n\nIntro.\n\n```python\n# a comment\nx = 1\n## not a heading\n```\n\nAfter.\n"
    note = note_of(text)
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert all(c.heading == "Real heading" for c in chunks)
    assert any("# a comment" in c.text and "```" in c.text for c in chunks)
    assert_exact_spans(note, chunks)


def test_code_fence_is_not_split_when_it_fits(model_tokens, limit):
    body = "\n".join(f"line_{i} = {i}" for i in range(30))
    text = "# Code\n\n" + "Some prose. " * 40 + "\n\n```python\n" + body + "\n```\n"
    note = note_of(text)
    chunks = chunk_note(note, budget_for(model_tokens, limit, 300))
    fenced = [c for c in chunks if "```python" in c.text]
    assert len(fenced) == 1 and fenced[0].text.rstrip().endswith("```")


def test_a_fence_over_budget_is_split_by_lines(model_tokens, limit):
    body = "\n".join(f"value_{i} = compute_something({i}, other_argument={i * 7})" for i in range(120))
    note = note_of("# Big\n\n```python\n" + body + "\n```\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert len(chunks) > 2
    assert all(model_tokens(embed_view(c.heading, c.text)) <= limit for c in chunks)
    assert_exact_spans(note, chunks)


def test_tables_stay_whole(model_tokens, limit):
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| r{i} | v{i} |" for i in range(8))
    note = note_of("# T\n\n" + "Prose line here. " * 30 + "\n\n" + table + "\n\nMore prose.\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit, 120))
    with_table = [c for c in chunks if "| r0 |" in c.text]
    assert len(with_table) == 1 and "| r7 |" in with_table[0].text and "| a | b |" in with_table[0].text


def test_text_with_no_headings_is_filed_under_the_notes_title(model_tokens, limit):
    note = note_of("\n\n".join(f"Paragraph {i} talks about topic {i}." for i in range(50)))
    chunks = chunk_note(note, budget_for(model_tokens, limit, 60))
    assert len(chunks) > 1 and all(c.heading == "n" for c in chunks)  # n.md, as a notes app titles it
    headed = chunk_note(note_of("Intro words before any heading.\n\n# Topic\n\nText."), budget_for(model_tokens, limit))
    assert headed[0].heading in ("", "Topic")  # a note with headings keeps its own: no file-name title
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 99
    assert_exact_spans(note, chunks)


def test_a_paragraph_longer_than_the_budget_is_split_at_sentences(model_tokens, limit):
    line = " ".join(f"Sentence number {i} explains one more detail." for i in range(200))
    note = note_of("# Long\n\n" + line + "\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert len(chunks) > 3
    assert all(c.start_line == c.end_line == 3 for c in chunks if c.text != "# Long")
    assert all(count_budget_tokens(c.text) <= 300 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks if c.start_line == 3)
    assert_exact_spans(note, chunks)


def test_a_one_megabyte_line_without_spaces_is_cut_within_limits(model_tokens, limit):
    note = note_of("x" * 50_000)
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert "".join(c.text for c in chunks) == "x" * 50_000
    assert all(model_tokens(c.text) <= limit for c in chunks)


def test_crlf_notes_get_the_same_lines_as_lf(model_tokens, limit):
    text = "# A\r\n\r\nfirst para\r\n\r\n## B\r\n\r\nsecond para\r\n"
    crlf, lf = load_note(text.encode(), "a.md"), load_note(text.replace("\r\n", "\n").encode(), "a.md")
    assert isinstance(crlf, Note) and isinstance(lf, Note)
    budget = budget_for(model_tokens, limit)
    assert [(c.start_line, c.end_line, c.text) for c in chunk_note(crlf, budget)] == [
        (c.start_line, c.end_line, c.text) for c in chunk_note(lf, budget)]
    assert "\r" not in crlf.text


@pytest.mark.parametrize("raw, reason", [(b"", "empty"), (b"  \n\n", "empty"),
                                         (b"caf\xe9 latin-1", "UTF-8"), (b"\x89PNG\x00\x00", "binary")])
def test_unusable_notes_are_skipped_with_a_reason(raw, reason):
    result = load_note(raw, "bad.md")
    assert isinstance(result, Skipped) and reason in result.reason


def test_notebook_cells_stay_with_their_code(model_tokens, limit):
    note = note_of("In [1]:\nx = 1\n\n\ny = 2\nprint(x + y)\n\n3\n\n\nThe cell above adds two numbers together.\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert chunks[0].start_line == 1 and "print(x + y)" in chunks[0].text


def test_a_notes_title_comes_from_its_file_name():
    from rag.ingest.chunk import note_title

    assert note_title("Notes/2023-09-12 Meeting with Steph.md") == "2023-09-12 Meeting with Steph"
    assert note_title("tldr/git-rebase.md") == "git rebase" and note_title("self_attention.ipynb") == "self attention"


def test_a_cell_ends_at_prose_that_names_code_in_parentheses():
    from rag.ingest.paths import parse_blocks

    lines = ["In [1]:", "class Parent:", "    def __init__(self):", "        self.x = 1", "", "",
             "In Python, **child classes inherit variables set in the parent's `__init__()` method**.",
             "", "print(child.parent_var)  # Output: I am from Parent (not a sentence)."]
    blocks = parse_blocks(lines)
    assert (blocks[0].kind, blocks[0].end) == ("code", 3)
    assert blocks[1].kind == "para" and blocks[1].start == 6


def test_the_embedder_reads_each_table_cell_with_its_column():
    table = "| Feature | Vanishing | Exploding |\n|---|:---:|---|\n| Cause | small grads | large grads |\n"
    view = embed_view("Summary", "Intro.\n\n" + table + "\nAfter.")
    assert "Feature, Vanishing, Exploding:" in view
    assert "Feature: Cause; Vanishing: small grads; Exploding: large grads." in view
    assert "|" not in view and "---" not in view and view.endswith("After.")


def test_sibling_sections_in_one_chunk_keep_the_first_ones_title(model_tokens, limit):
    note = note_of("# Topic\n\n" + "intro words. " * 60
                   + "\n\n## Part one\n\nshort one.\n\n## Part two\n\nshort two.\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit, 100))
    joined = [c for c in chunks if "short one." in c.text]
    assert len(joined) == 1 and "short two." in joined[0].text and joined[0].heading == "Topic > Part one"


def test_heading_path_nests_and_pops(model_tokens, limit):
    note = note_of("# A\n\n" + "text a. " * 80 + "\n\n## B\n\n" + "text b. " * 80
                   + "\n\n# C\n\n" + "text c. " * 80 + "\n")
    headings = [c.heading for c in chunk_note(note, budget_for(model_tokens, limit, 100))]
    assert "A > B" in headings and "C" in headings and not any(h.startswith("A > B > C") for h in headings)


def test_a_paragraph_set_as_a_heading_heads_nothing(model_tokens, limit):
    prose = "# " + " ".join(["Yes, this answer was typed on a heading line by mistake"] * 4) + "\n\n"
    note = note_of("# Topic\n\n" + prose + "## Sub\n\n" + "text. " * 80 + "\n")
    chunks = chunk_note(note, budget_for(model_tokens, limit, 100))
    assert {c.heading for c in chunks} <= {"Topic", "Topic > Sub"}
    assert any("typed on a heading line" in c.text for c in chunks)  # still indexed, as text


def test_every_chunk_of_the_real_notes_is_exact_and_within_the_model_limit(model_tokens, limit):
    note = read_note(REAL_NOTE, "interview-notes.md")
    assert isinstance(note, Note)
    chunks = chunk_note(note, budget_for(model_tokens, limit))
    assert len(chunks) > 100
    assert_exact_spans(note, chunks)
    for c in chunks:
        assert model_tokens(embed_view(c.heading, c.text)) <= limit, (c.start_line, c.end_line)
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    lines = note.text.split("\n")
    uncovered = [n for n in range(1, len(lines) + 1) if n not in covered and lines[n - 1].strip()]
    assert uncovered == []


def paths_of(text: str, plain: bool = False) -> dict[str, tuple[str, ...]]:
    """The heading path of each block of a note, by the block's first line."""
    lines = text.split("\n")
    return {lines[b.start]: b.path for b in parse_blocks(lines, plain)}


def test_clean_nested_markdown_keeps_markdown_paths():
    text = ("Preamble.\n\n# A\n\nText a.\n\n## B\n\n- item\n- item two\n\n### C\n\n"
            "```python\n# not a heading\n```\n\n---\n\nWhy does this matter?\n\n## D\n\n"
            "| x | y |\n|---|---|\n| 1 | 2 |\n\n# E\n\nText e.\n\n## F\n\nText f.\n")
    paths = paths_of(text)
    assert paths["Preamble."] == ()
    assert paths["- item"] == ("A", "B")
    assert paths["```python"] == paths["Why does this matter?"] == ("A", "B", "C")
    assert paths["| x | y |"] == ("A", "D")
    assert paths["Text e."] == ("E",) and paths["Text f."] == ("E", "F")


def test_an_inverted_title_heads_the_shallower_sections_after_it():
    text = ("# MAE question\n\nMAE answer.\n\n### Summary:\n\n- MAE is robust.\n\n"
            "### Linear Regression: Overview\n\nIntro.\n\n---\n\n## 1. Objective\n\nFit a line.\n\n"
            "### 1.1 Detail\n\nMore.\n\n## 2. Cost\n\nSquared error.\n\n# Next question\n\nText.\n")
    paths = paths_of(text)
    assert paths["- MAE is robust."] == ("MAE question", "Summary:")
    assert paths["Intro."] == ("Linear Regression: Overview",)
    assert paths["Fit a line."] == ("Linear Regression: Overview", "1. Objective")
    assert paths["More."] == ("Linear Regression: Overview", "1. Objective", "1.1 Detail")
    assert paths["Squared error."] == ("Linear Regression: Overview", "2. Cost")
    assert paths["Text."] == ("Next question",)  # a `#` is never one of the title's sections


def test_a_closing_offer_ends_the_answer(model_tokens, limit):
    text = ("# Question\n\n### 1. Point\n\nFirst answer.\n\n---\n\nLet me know if you'd like more details!\n\n"
            "### Pixel Attack vs. Adversarial Attack\n\nIntro.\n\n---\n\n### 1. Pixel Attack\n\nOne pixel.\n\n"
            "Would you like code for either attack?\n\nAnother answer, untitled, starts here.\n\n"
            "### 1. Cause\n\nIts text.\n")
    paths = paths_of(text)
    assert paths["Let me know if you'd like more details!"] == ("Question", "1. Point")
    assert paths["Intro."] == ("Pixel Attack vs. Adversarial Attack",)  # the heading it opens with titles it
    assert paths["One pixel."] == ("Pixel Attack vs. Adversarial Attack", "1. Pixel Attack")
    assert paths["Another answer, untitled, starts here."] == ()
    assert paths["Its text."] == ("1. Cause",)
    chunks = chunk_note(note_of(text), budget_for(model_tokens, limit, 40))  # too small for the whole note
    assert not any("First answer." in c.text and "Intro." in c.text for c in chunks)  # answers are never joined


def test_prose_after_a_titled_notebook_cell_leaves_the_title():
    text = ("# Sort 0s left and 1s right\n\nIn [2]:\ns = [0, 1, 0]\nprint(sorted(s))\n\n[0, 0, 1]\n\n\n"
            "Gradient Descent is an optimization algorithm, and here are its common problems:\n\n---\n\n"
            "### 1. Vanishing Gradients\n\nSmall gradients.\n")
    paths = paths_of(text)
    assert paths["In [2]:"] == ("Sort 0s left and 1s right",)
    assert paths["Gradient Descent is an optimization algorithm, and here are its common problems:"] == ()
    assert paths["Small gradients."] == ("1. Vanishing Gradients",)


def test_a_paragraph_set_as_a_heading_ends_the_topic_above():
    prose = "# Yes, " + " ".join(["QLoRA is LoRA with quantization applied to the frozen weights"] * 3)
    text = f"# Dimensionality reduction?\n\n### Summary:\n\n- fewer features\n\n{prose}\n\n### 1. Concept\n\nLow rank."
    paths = paths_of(text)
    assert paths["- fewer features"] == ("Dimensionality reduction?", "Summary:")
    assert paths[prose] == () and paths["Low rank."] == ("1. Concept",)


def test_the_real_notes_topics_end_where_a_new_answer_starts(model_tokens, limit):
    note = read_note(REAL_NOTE, "interview-notes.md")
    assert isinstance(note, Note)
    chunks = chunk_note(note, budget_for(model_tokens, limit))

    def heading_at(line: int) -> str:
        return next(c.heading for c in chunks if c.start_line <= line <= c.end_line)

    assert "Support Vector Machine" in heading_at(1500) and "MAE" not in heading_at(1500)
    assert "Linear Regression" in heading_at(1310) and "MAE" not in heading_at(1310)
    assert "0s at left" not in heading_at(3920) and "dimensionality" not in heading_at(1100)
    lines = note.text.split("\n")
    svm = next(b for b in parse_blocks(lines) if b.start + 1 == 1441)  # "## 1. Core Idea of SVM"
    assert svm.path[0].startswith("Support Vector Machine") and len(svm.path) == 2


# --- structure as the authors wrote it -----------------------------------------------------------------------------


def test_setext_titles_are_headings_and_rules_are_not():
    text = ("Guide\n=====\n\nIntro.\n\nLayout\n------\n\nIndent by four.\n\n---\n\nAfter a rule.\n\n"
            "- an item\n---\n\n| a | b |\n---\n\n> a quote\n---\n\nTwo lines of\none paragraph\n---\n\n"
            "Naming\n======\n\nSnake case.\n")
    paths = paths_of(text)
    assert paths["Guide"] == ("Guide",) and paths["Intro."] == ("Guide",)
    assert paths["Layout"] == paths["Indent by four."] == ("Guide", "Layout")
    assert paths["After a rule."] == ("Guide", "Layout")  # a `---` after a blank line is a rule
    assert paths["- an item"] == paths["| a | b |"] == paths["> a quote"] == ("Guide", "Layout")  # none titles
    assert paths["Two lines of"] == ("Guide", "Layout")  # CommonMark would title it; a note means a rule
    assert paths["Snake case."] == ("Naming",)


def test_plain_text_underlines_and_banners_are_headings_and_front_matter_is_not():
    text = ("---\ntags: [ style ]\n---\n\nPEP: 8\n\nCode Lay-out\n============\n\nIndentation\n-----------\n\n"
            "Use 4 spaces.\n\nNames to Avoid\n~~~~~~~~~~~~~~\n\nNever use l.\n\n"
            "##########\n# Comments #\n##########\n\nKeep them short.\n\nx = f()\n***\n\ndoc = 1\n\"\"\"\n")
    paths = paths_of(text, plain=True)
    assert paths["---"] == paths["PEP: 8"] == ()  # the YAML header's `---` underlines nothing
    assert paths["Use 4 spaces."] == ("Code Lay-out", "Indentation")
    assert paths["Never use l."] == ("Code Lay-out", "Indentation", "Names to Avoid")  # `~~~` opens no code
    assert paths["Keep them short."] == paths["x = f()"] == paths["doc = 1"] == ("Comments",)  # too short, or code
    markdown = paths_of("=======\nSetup\n=======\n\nInstall it.\n\nUsage\n~~~~~\n\nText.\n~~~~~\n")
    assert markdown["Install it."] == ("Setup",)
    assert markdown["Usage"] == ("Setup",)  # in markdown `~~~` opens code, it underlines nothing


def test_comment_lines_of_a_plain_text_cheat_sheet_head_their_command():
    text = ("# To connect on a non-standard port:\nssh -p <port> <user>@<host>\n\n"
            "# To mount folder/filesystem through SSH\n# Install SSHFS from https://github.com/libfuse/sshfs\n"
            "# Will allow you to mount a folder securely over a network.\nsshfs <user>@<host>:/path /mnt\n\n"
            "# To find files newer than 1 day:\nfind . -ctime -1\n# or:\nfind . -mtime -1\n#\n"
            "# To find files by size:\nfind . -size +1M\n")
    paths = paths_of(text, plain=True)
    assert paths["ssh -p <port> <user>@<host>"] == ("To connect on a non-standard port:",)
    assert paths["# Install SSHFS from https://github.com/libfuse/sshfs"] == ("To mount folder/filesystem through SSH",)
    assert "# Will allow you to mount a folder securely over a network." not in paths  # goes on with the block
    assert paths["find . -ctime -1"] == ("To find files newer than 1 day:",) and "# or:" not in paths
    assert paths["find . -size +1M"] == ("To find files by size:",)  # an empty `#` line parts blocks
    assert paths_of(text)["find . -size +1M"] == ("To find files by size:",)
    assert paths_of(text)["sshfs <user>@<host>:/path /mnt"] == (  # markdown reads every `#` line as a heading
        "Will allow you to mount a folder securely over a network.",)


def test_a_markdown_like_plain_text_note_keeps_its_heading_tree(model_tokens, limit):
    text = "# Python\n## Lists\n\nA list is mutable.\n\n# Shell\n\nPipes join commands.\n"
    assert paths_of(text, plain=True)["A list is mutable."] == ("Python", "Lists")
    chunks = chunk_note(note_of(text, "notes.txt"), budget_for(model_tokens, limit, 12))
    assert {c.heading for c in chunks} == {"Python > Lists", "Shell"}


def test_a_cheat_sheet_note_is_chunked_by_its_comments(model_tokens, limit):
    text = ("---\ntags: [ ssh ]\n---\n# To tunnel an x session over SSH:\nssh -X <user>@<host>\n\n"
            "# Redirect traffic with a tunnel between local host (port 8080) and a remote\n"
            "# host (remote.example.com:5000) through a proxy:\nssh -f -L 8080:remote.example.com:5000 me@proxy -N\n")
    note = note_of(text, "sheets/ssh.txt")
    chunks = chunk_note(note, budget_for(model_tokens, limit, 60))  # a chunk per command
    assert_exact_spans(note, chunks)
    tunnel = next(c for c in chunks if "ssh -f" in c.text)
    assert tunnel.heading.startswith("Redirect traffic") and tunnel.start_line == 7
    assert not any(c.heading.startswith("host (") or c.heading.startswith("tags") for c in chunks)


def test_a_bold_question_heads_its_answer():
    text = ("# Docker\n\n**What is an image?**\n\nA read-only template.\n\n**When do we use it? 👶**\n"
            "To start containers.\n\n**Output**:\n\nLayers.\n\n__Why layers?__\n\nCaching.\n\n"
            "**Q:** What is a volume?\n\nPersistent storage.\n\n<b>What is a tag?</b>\n\nA name.\n\n"
            "## Networking\n\nBridges.\n")
    paths = paths_of(text)
    assert paths["**What is an image?**"] == paths["A read-only template."] == ("Docker", "What is an image?")
    assert paths["To start containers."] == ("Docker", "When do we use it? 👶")  # the emoji does not split it
    assert paths["Layers."] == ("Docker", "When do we use it? 👶")  # a bold label is no question: no heading
    assert paths["Caching."] == ("Docker", "Why layers?")
    assert paths["Persistent storage."] == ("Docker", "What is a volume?")
    assert paths["A name."] == ("Docker", "What is a tag?")
    assert paths["Bridges."] == ("Docker", "Networking")  # a heading of the outline ends the question


def test_a_collapsible_summary_heads_its_answer_and_bold_questions_in_it_nest():
    text = ("## <a name=\"junior\">Junior Sysadmin</a>\n\n###### System Questions (37)\n\n<details>\n"
            "<summary><b>Can you give an example of the <code>nobody</code> account?</b></summary><br>\n"
            "- memcached\n\n**When should I use `nobody` account?**\n\nWhen no permissions are needed.\n\n"
            "</details>\n\n"
            "<details>\n<summary><b>What is the proper way to test NFS performance? Prepare a checklist.\n"
            "</b></summary><br>\n\nUse the application.\n\n</details>\n")
    paths = paths_of(text)
    junior = ("Junior Sysadmin", "System Questions (37)")
    assert paths["- memcached"] == (*junior, "Can you give an example of the nobody account?")
    assert paths["When no permissions are needed."] == (
        *junior, "Can you give an example of the nobody account?", "When should I use `nobody` account?")
    assert paths["Use the application."] == (*junior, "What is the proper way to test NFS performance?")
    lines = text.split("\n")
    assert [(b.start, b.end) for b in parse_blocks(lines) if b.kind == "heading"][2:] == [(4, 5), (8, 8), (14, 16)]


def test_heading_titles_leave_out_html_and_emoji_codes():
    text = ("## <a name=\"general-knowledge\">General Knowledge</a>\n\n"
            "### :diamond_shape_with_a_dot_inside: <a name=\"junior\">Junior Sysadmin</a>\n\nText.\n\n"
            "#### :star:\n\nStarred.\n\n## Vector<int> &amp; List<T>\n\nGenerics.\n")
    paths = paths_of(text)
    assert paths["Text."] == ("General Knowledge", "Junior Sysadmin")
    assert paths["Starred."] == ("General Knowledge", "Junior Sysadmin")  # a title of only an emoji names nothing
    assert paths["Generics."] == ("Vector<int> & List<T>",)


def test_clean_markdown_with_a_skipped_level_keeps_markdown_paths():
    text = ("# Making an Attack\n\n## Melee Attacks\n\nReach.\n\n#### Opportunity Attacks\n\nLeave reach.\n\n"
            "### Grappling\n\nGrab.\n\n## Cover\n\nWalls.\n\n## Make an elevator pitch\n\n"
            "Whether you're at a job fair or not, your introduction is your pitch!\n\n### 1. Basics\n\nWho you are.\n")
    paths = paths_of(text)
    assert paths["Leave reach."] == ("Making an Attack", "Melee Attacks", "Opportunity Attacks")
    assert paths["Grab."] == ("Making an Attack", "Melee Attacks", "Grappling")
    assert paths["Walls."] == ("Making an Attack", "Cover")
    assert paths["Who you are."] == ("Making an Attack", "Make an elevator pitch", "1. Basics")  # advice, no offer


def test_a_paragraph_ending_in_a_colon_goes_with_the_block_it_introduces():
    # d2l's dropout section: "each activation h is replaced by a random variable h' as follows:" was cut from
    # its formula, which went with the code after it
    lead = "With dropout probability p, each intermediate activation h is replaced as follows:"
    text = (f"# Dropout\n\n{'One idea is to inject noise without bias. ' * 2}\n\n{lead}\n\n"
            "$$\nh' = 0 with probability p, else h / (1 - p) otherwise\n$$\n")
    words = Budget(30, 0, lambda t: len(t.split()), lambda t: True)
    chunks = chunk_note(note_of(text), words)
    assert [c.text.split("\n")[0] for c in chunks] == ["# Dropout", lead]


def test_a_note_without_a_title_of_its_own_is_titled_by_its_file_name(model_tokens, limit):
    # kepano-vault/Notes/Minimal Theme.md: front matter, then `## To-do` and three items; the subject is the name
    budget = budget_for(model_tokens, limit)
    vault = note_of("---\nyear: 2020\n---\n## To-do\n\n- [x] Color schemes\n- [x] E-ink mode\n",
                    "Notes/Minimal Theme.md")
    assert [c.heading for c in chunk_note(vault, budget)] == ["Minimal Theme > To-do"]
    titled = note_of("# Dropout\n\nText.\n\n## In practice\n\nMore text.\n", "d2l/dropout-notes.md")
    assert {c.heading.split(" > ")[0] for c in chunk_note(titled, budget)} == {"Dropout"}
    readme = note_of("## Install\n\nRun it.\n", "tool/README.md")
    assert [c.heading for c in chunk_note(readme, budget)] == ["Install"]


OUTLINE_NOTE = ("OPERATING SYSTEMS - exam notes\n==============================\n\n===== CH01 Processes =====\n\n"
                "Process\n\ta program in execution\n\tstates\n\t\tnew, ready, running, waiting, terminated\n\n"
                "Context switch\n\tsave the state of the old process into its PCB\n\tpure overhead: no useful work\n")


def test_a_plain_text_outline_is_read_as_nested_lists_under_its_banners():
    note = note_of(OUTLINE_NOTE, "os.txt")
    lines = note.text.split("\n")
    assert len(lines) == len(OUTLINE_NOTE.split("\n"))  # only bullets added: every line keeps its number
    assert lines[5:9] == ["- Process", "\t- a program in execution", "\t- states",
                          "\t\t- new, ready, running, waiting, terminated"]
    blocks = parse_blocks(lines, plain=True)
    by_line = {lines[b.start]: b for b in blocks}
    assert by_line["===== CH01 Processes ====="].kind == "heading"
    assert by_line["\t- states"].kind == by_line["\t\t- new, ready, running, waiting, terminated"].kind == "item"
    assert by_line["- Context switch"].path == ("OPERATING SYSTEMS - exam notes", "CH01 Processes")
    assert note_of(OUTLINE_NOTE, "os.md").text == OUTLINE_NOTE  # markdown says what its indentation means


@pytest.mark.parametrize("text", [
    "PEP: 8\nAuthor: Guido van Rossum <guido@python.org>,\n        Barry Warsaw <barry@python.org>\n",  # wrapped
    "def area(r):\n    return 3.14 * r * r\n",  # code typed without a fence
    "Yes::\n\n    foo = long_function_name(var_one)\n",  # reStructuredText: a literal block
    "..\n   Local Variables:\n   mode: indented-text\n",  # a reStructuredText comment
    "Steps\n- clone it\n  - then build\n",  # already a list
])
def test_indented_text_that_is_no_outline_stays_as_typed(text: str):
    assert note_of(text, "n.txt").text == text


def test_clean_markdown_notes_keep_the_paths_their_headings_give():
    """Every markdown note of eval/multi and a long handbook README: the heading path of each block against a
    CommonMark walk of its `#` and setext headings (markdown-it-py; one inside a quote or a list heads nothing)."""
    from markdown_it import MarkdownIt

    from rag.ingest.headings import OUTLINE, heading_at
    from rag.ingest.paths import clean_heading

    root = MULTI
    handbook = Path(__file__).resolve().parents[1] / "notes" / "system-design-primer.md"  # see tests/notes/SOURCES.md
    parser = MarkdownIt("commonmark")
    compared = 0
    for path in [*sorted(root.rglob("*.md")), handbook]:
        note = read_note(path, path.name)
        if isinstance(note, Skipped):
            continue
        lines = note.text.split("\n")
        heads = [(int(t.tag[1]), t.map[0]) for t in parser.parse(note.text)
                 if t.type == "heading_open" and t.level == 0 and t.map]
        blocks = parse_blocks(lines)
        answers = {clean_heading(b.head.title) for b in blocks if b.head is not None and b.head.tier != OUTLINE}
        for block in blocks:
            if block.kind == "heading":
                continue
            open_: list[tuple[int, int]] = []
            for level, line in heads:
                if line > block.start:
                    break
                open_ = [h for h in open_ if h[0] < level] + [(level, line)]
            titles = [clean_heading(h.title) for _, line in open_ if (h := heading_at(lines, line)) is not None]
            assert tuple(p for p in block.path if p not in answers) == tuple(t for t in titles if t), (
                f"{path.name} line {block.start + 1}")
            compared += 1
    assert compared > 5000  # the notes were read, not skipped
