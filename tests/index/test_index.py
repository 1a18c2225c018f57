"""Incremental indexing against a real Chroma and the real model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.app import Rag
from rag.errors import IndexBusy, IndexMismatch, InvalidInput, NotFound
from rag.index.last_run import LAST_RUN_FILE
from rag.index.run import index_lock
from rag.models import IndexStatus

SECTION = "## {name}\n\n{body}\n"


class CountingEmbedder:
    """Wraps the real embedder: counts texts embedded, and can fail after a number of calls."""

    def __init__(self, inner, fail_after: int | None = None) -> None:
        self.inner, self.fail_after, self.calls, self.texts = inner, fail_after, 0, 0

    id = property(lambda self: self.inner.id)
    max_tokens = property(lambda self: self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated crash inside the embed step")
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed(texts)


def write_notes(corpus: Path, n_sections: int = 6, name: str = "topics.md") -> Path:
    parts = [SECTION.format(name=f"Topic {i}", body=f"Topic {i} is about subject number {i}. " * 12)
             for i in range(n_sections)]
    path = corpus / name
    path.write_text("# Notes\n\n" + "\n".join(parts))
    return path


def snapshot(rag: Rag) -> list[tuple]:
    """The store's rows without the index time: what a clean rebuild must reproduce."""
    return sorted((r.id, r.text, r.source, r.start_line, r.end_line, r.heading, r.ordinal, r.file_sha256)
                  for r in rag.store.rows())


def counting_rag(make_rag, embedder, fail_after=None) -> tuple[Rag, CountingEmbedder]:
    counter = CountingEmbedder(embedder, fail_after)
    rag = make_rag()
    rag.__dict__["embedder"] = counter
    return rag, counter


def test_add_edit_rename_delete(make_rag, embedder):
    rag, counter = counting_rag(make_rag, embedder)
    corpus = rag.settings.corpus_dir
    path = write_notes(corpus, n_sections=8)
    first = rag.index()
    assert first.added == 1 and first.chunks == first.embedded > 1
    assert first.units > first.chunks and counter.texts == first.embedded + first.units  # answer units stored too
    assert set(first.stages) == {"read", "chunk", "embed", "store", "bm25", "units"}  # each stage timed
    assert 0 < sum(first.stages.values()) <= first.seconds + first.stages["bm25"]

    counter.texts = 0
    again = rag.index()
    assert again.unchanged == 1 and again.embedded == 0 and counter.texts == 0

    path.write_text(path.read_text().replace("Topic 3 is about subject number 3.", "Topic 3 was edited.", 1))
    edited = rag.index()
    assert edited.updated == 1 and edited.embedded == 1 and counter.texts == 1 + edited.units
    assert 1 <= edited.units < first.units  # only the edited section's units are embedded again
    assert any("Topic 3 was edited." in p.text for p in rag.search("Topic 3 was edited", 3))

    path.rename(corpus / "renamed.md")
    renamed = rag.index()
    statuses = {f.source: f.status for f in renamed.files}
    assert statuses == {"renamed.md": "added", "topics.md": "removed"}
    assert not rag.unit_store.ids_of("topics.md") and rag.unit_store.ids_of("renamed.md")  # answer units follow
    assert {s.source for s in rag.sources()} == {"renamed.md"}

    (corpus / "renamed.md").unlink()
    with pytest.raises(InvalidInput, match="would remove all 1 indexed notes"):
        rag.index()  # an empty (or wrongly mounted) corpus folder must not wipe the index
    assert rag.store.count() > 0
    gone = rag.index(allow_empty=True)
    assert gone.removed == 1 and gone.chunks == 0 and rag.store.count() == 0 == rag.unit_store.count()


def test_an_unchanged_note_is_known_by_its_bytes_and_not_loaded_again(make_rag, monkeypatch):
    rag = make_rag()
    (rag.settings.corpus_dir / "a.md").write_text("# A\n\nAlpha is the first letter.\n")
    rag.index()

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged note was loaded again")

    monkeypatch.setattr("rag.index.run.load_note", no_loading)
    report = rag.index()
    assert [(f.source, f.status) for f in report.files] == [("a.md", "unchanged")]
    (rag.settings.corpus_dir / "a.md").write_text("# A\n\nAlpha is the first Greek letter.\n")
    with pytest.raises(AssertionError, match="loaded again"):  # changed bytes are loaded
        rag.index()


def test_moved_chunks_are_relabelled_not_re_embedded(make_rag, embedder):
    rag, counter = counting_rag(make_rag, embedder)
    path = write_notes(rag.settings.corpus_dir)
    rag.index()
    before = {r.id: r.start_line for r in rag.store.rows()}
    counter.texts = 0
    path.write_text("Intro line added at the top.\n\n" + path.read_text())
    report = rag.index()
    after = {r.id: r.start_line for r in rag.store.rows()}
    shared = set(before) & set(after)
    assert shared and all(after[i] == before[i] + 2 for i in shared)
    assert counter.texts == len(after) - len(shared) + report.units and report.units <= 2


def test_a_crash_mid_index_then_a_rerun_equals_a_clean_rebuild(make_rag, embedder, tmp_path):
    rag, _ = counting_rag(make_rag, embedder)
    corpus = rag.settings.corpus_dir
    for n in range(3):
        write_notes(corpus, n_sections=40, name=f"note{n}.md")
    rag.index()
    for n in range(3):  # change every note so the next run has a lot to embed
        p = corpus / f"note{n}.md"
        p.write_text(p.read_text().replace("subject", "matter"))
    crashing, _ = counting_rag(make_rag, embedder, fail_after=2)
    report = crashing.index()
    assert any(f.status == "failed" and "simulated crash" in f.reason for f in report.files)

    rag.index()
    clean = Rag(rag.settings.model_copy(update={"data_dir": tmp_path / "clean"}), embedder=embedder)
    clean.index(rebuild=True)
    assert snapshot(rag) == snapshot(clean)


def test_skipped_files_are_reported_and_the_others_indexed(make_rag):
    rag = make_rag()
    corpus = rag.settings.corpus_dir
    write_notes(corpus)
    (corpus / "latin1.md").write_bytes(b"caf\xe9")
    (corpus / "empty.txt").write_text("")
    (corpus / "image.md").write_bytes(b"\x89PNG\r\n\x00\x00")
    (corpus / "ignored.odt").write_bytes(b"PK")
    report = rag.index()
    statuses = {f.source: (f.status, f.reason) for f in report.files}
    assert statuses["topics.md"][0] == "added"
    assert statuses["latin1.md"][0] == statuses["empty.txt"][0] == statuses["image.md"][0] == "skipped"
    assert "UTF-8" in statuses["latin1.md"][1] and "binary" in statuses["image.md"][1]
    assert statuses["ignored.odt"][0] == "skipped" and ".md" in statuses["ignored.odt"][1]  # a kind not indexed


def test_links_out_of_the_corpus_folder_are_skipped_with_their_reason(make_rag, tmp_path):
    rag = make_rag()
    corpus = rag.settings.corpus_dir
    write_notes(corpus)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_notes(outside, name="secret.md")
    (corpus / "linked.md").symlink_to(outside / "secret.md")
    (corpus / "linked-folder").symlink_to(outside)
    (corpus / "alias.md").symlink_to(corpus / "topics.md")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "HEAD.md").write_text("ref: refs/heads/main")
    report = rag.index()  # one bad link used to abort the whole run
    statuses = {f.source: (f.status, f.reason) for f in report.files}
    assert statuses["topics.md"][0] == "added"
    assert statuses["linked.md"][0] == statuses["linked-folder"][0] == "skipped"
    assert "outside the corpus folder" in statuses["linked.md"][1] and str(outside) in statuses["linked-folder"][1]
    assert statuses["alias.md"] == ("skipped", "a link to topics.md, which is indexed under its own name")
    assert not any(s.startswith(".git") for s in statuses)  # hidden folders are passed over
    assert [s.source for s in rag.sources()] == ["topics.md"]

    (corpus / "topics.md").rename(outside / "topics.md")  # an indexed note replaced by a link out of the folder
    (corpus / "topics.md").symlink_to(outside / "topics.md")
    again = {f.source: f for f in rag.index().files}
    assert again["topics.md"].status == "skipped" and "previously indexed version is kept" in again["topics.md"].reason
    assert [s.source for s in rag.sources()] == ["topics.md"]


def test_a_note_grown_over_the_size_cap_is_skipped_and_its_indexed_version_kept(make_rag):
    rag = make_rag()
    path = write_notes(rag.settings.corpus_dir)
    rag.index()
    indexed = snapshot(rag)
    with path.open("a") as note:  # pasted in: a 5.3 MB note, over the default 5 MB
        note.write("Topic 7 is about subject number seven.\n" * 135_000)
    report = {f.source: f for f in rag.index().files}
    assert report["topics.md"].status == "skipped"
    assert report["topics.md"].reason == ("the note is 5.3 MB, over the 5 MB cap (RAG_MAX_NOTE_BYTES): split it or "
                                          "raise the cap (the previously indexed version is kept)")
    assert snapshot(rag) == indexed
    assert [s.source for s in rag.sources()] == ["topics.md"]


def test_the_size_cap_counts_the_text_a_page_or_document_holds(make_rag, monkeypatch):
    monkeypatch.setenv("RAG_MAX_NOTE_BYTES", "3000")
    rag = make_rag()
    corpus = rag.settings.corpus_dir
    image = "data:image/png;base64," + "A" * 20_000
    (corpus / "page.html").write_text(f"<h1>Topics</h1><p>Topic one is about subject one.</p><img src='{image}'>")
    (corpus / "long.html").write_text("<h1>Long</h1>" + "<p>Topic two is about subject number two.</p>" * 80)
    (corpus / "long.md").write_text("# Long\n\n" + "Topic two is about subject number two.\n" * 80)
    report = {f.source: (f.status, f.reason) for f in rag.index().files}
    assert report["page.html"] == ("added", "")  # a 20 KB file, most of it an image: little text to index
    assert report["long.html"][0] == report["long.md"][0] == "skipped"
    assert report["long.html"][1].startswith("its text is 0.0 MB, over the 0.003 MB cap (RAG_MAX_NOTE_BYTES)")
    assert report["long.md"][1].startswith("the note is 0.0 MB, over the 0.003 MB cap (RAG_MAX_NOTE_BYTES)")


def test_notes_in_subfolders_keep_their_relative_path(make_rag):
    rag = make_rag()
    sub = rag.settings.corpus_dir / "ml" / "deep"
    sub.mkdir(parents=True)
    write_notes(sub, name="nets.markdown")
    rag.index()
    assert [s.source for s in rag.sources()] == ["ml/deep/nets.markdown"]


def test_a_missing_corpus_folder_is_a_clear_error(make_rag, tmp_path):
    rag = make_rag(corpus_dir=tmp_path / "nope")
    with pytest.raises(NotFound, match="does not exist"):
        rag.index()


def test_a_second_index_run_is_refused_while_one_runs(make_rag):
    rag = make_rag()
    with index_lock(rag.settings.data_dir), pytest.raises(IndexBusy):
        rag.index()


def test_an_index_built_by_another_embedder_is_refused(make_rag):
    rag = make_rag()
    write_notes(rag.settings.corpus_dir)
    rag.index()
    rag.store.mark_written("some-other-model:int8")
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        rag.retriever.refresh(force=True)  # what every search does at most once a second
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        Rag(rag.settings, embedder=rag.embedder).search("topic", 3)
    with pytest.raises(IndexMismatch):
        rag.index()
    assert rag.index(rebuild=True).added == 1
    assert rag.search("topic", 3)


def test_lexical_index_follows_add_edit_delete(make_rag):
    rag = make_rag()
    corpus = rag.settings.corpus_dir
    write_notes(corpus)
    rag.index()
    assert rag.search("zanzibar", 5, mode="lexical") == []
    (corpus / "travel.md").write_text("# Travel\n\nZanzibar is an island with spice farms.\n")
    rag.index()
    assert [p.source for p in rag.search("zanzibar", 5, mode="lexical")] == ["travel.md"]
    (corpus / "travel.md").write_text("# Travel\n\nMadagascar has lemurs.\n")
    rag.index()
    assert rag.search("zanzibar", 5, mode="lexical") == []
    assert [p.source for p in rag.search("lemurs", 5, mode="lexical")] == ["travel.md"]
    (corpus / "travel.md").unlink()
    rag.index()
    assert rag.search("lemurs", 5, mode="lexical") == []


def test_a_second_process_sees_writes_through_the_store(make_rag, embedder):
    writer = make_rag()
    reader = Rag(writer.settings, embedder=embedder)
    write_notes(writer.settings.corpus_dir)
    writer.index()
    assert reader.search("subject number 2", 3, mode="lexical")
    (writer.settings.corpus_dir / "extra.md").write_text("# Extra\n\nQuokkas smile a lot.\n")
    writer.index()
    reader.retriever.refresh(force=True)
    assert [p.source for p in reader.search("quokkas", 3, mode="lexical")] == ["extra.md"]


def test_changing_the_chunk_budget_re_cuts_unchanged_notes(make_rag, embedder):
    rag, counter = counting_rag(make_rag, embedder)
    write_notes(rag.settings.corpus_dir, n_sections=30)
    rag.index()
    smaller = Rag(rag.settings.model_copy(update={"chunk_tokens": 64}), embedder=embedder)
    report = smaller.index()
    assert report.updated == 1 and report.embedded > 0
    clean = Rag(smaller.settings.model_copy(update={"data_dir": rag.settings.data_dir.parent / "clean"}),
                embedder=embedder)
    clean.index()
    assert snapshot(smaller) == snapshot(clean)
    assert smaller.index().unchanged == 1


def test_add_notes_checks_everything_before_writing(make_rag):
    rag = make_rag()
    corpus = rag.settings.corpus_dir
    with pytest.raises(InvalidInput, match="not valid UTF-8"):
        rag.add_notes([("good.md", b"# Good\n\nFine text.\n"), ("bad.md", b"caf\xe9")])
    assert sorted(p.name for p in corpus.iterdir()) == []
    report = rag.add_notes([("good.md", b"# Good\n\nFine text.\n"), ("more.txt", b"More text.\n")])
    assert report.added == 2 and {s.source for s in rag.sources()} == {"good.md", "more.txt"}
    removed = rag.remove_note("good.md")
    assert removed.removed == 1 and not (corpus / "good.md").exists()


def test_the_answer_stage_embeds_at_int8_and_a_change_of_precision_stores_the_units_again(make_rag):
    rag = make_rag()
    write_notes(rag.settings.corpus_dir, n_sections=4)
    first = rag.index()
    assert rag.answer_embedder.id.endswith(":int8") and rag.embedder.id.endswith(":fp32")  # RAG_ANSWER_PRECISION
    assert rag.unit_store.embedder_id() == rag.answer_embedder.id and first.units > 0

    fp32 = make_rag(answer_precision="fp32")  # the same folders, answers at the search's precision
    assert fp32.answer_embedder is fp32.embedder
    again = fp32.index()
    assert again.unchanged == 1 and again.embedded == 0 and again.units == first.units  # no chunk, every unit
    assert fp32.unit_store.embedder_id() == fp32.embedder.id
    assert fp32.index().units == 0  # and then nothing


def test_the_status_says_when_the_notes_are_searchable_and_answers_are_being_prepared(make_rag):
    rag = make_rag()
    write_notes(rag.settings.corpus_dir, n_sections=4)
    seen: list[tuple[str, bool]] = []

    def progress(done: int, total: int) -> None:
        seen.append((rag.status.stage, bool(rag.search("Topic 3", 1)) if rag.status.stage == "units" else False))

    rag.index(progress=progress)
    stages = [stage for stage, _ in seen]
    assert stages[0] == "chunks" and stages[-1] == "units" and stages == sorted(stages)  # chunks first, then units
    assert all(found for stage, found in seen if stage == "units")  # searchable while the units are embedded
    assert rag.status.stage == "" and not rag.status.running


def test_the_last_run_is_recorded_for_the_next_process(make_rag):
    """`make run` indexes with `rag index`, then `rag serve` starts: the server reports that run."""
    rag = make_rag()
    path = write_notes(rag.settings.corpus_dir, n_sections=2)
    report = rag.index()
    served = make_rag()  # a new container over the same folders, as a server started afterwards is
    assert served.status == IndexStatus(False, finished_at=rag.status.finished_at, last=report)
    path.unlink()
    with pytest.raises(InvalidInput):
        rag.index()  # an emptied folder is refused: recorded as the last run's failure, with the report before
    failed = make_rag().status
    assert failed.error and "corpus" in failed.error and failed.last == report and not failed.running
    (rag.settings.data_dir / LAST_RUN_FILE).write_text("{not json", encoding="utf-8")
    assert make_rag().status == IndexStatus(False)  # a damaged record is no record


def test_a_background_run_that_changes_nothing_leaves_the_status_to_the_run_before_it(make_rag):
    rag = make_rag()
    path = write_notes(rag.settings.corpus_dir, n_sections=2)
    rag.index(background=True)  # nothing before it: even a watcher's run is news
    added = rag.status
    assert added.last and added.last.added == 1
    rag.index(background=True)  # the watcher seeing a note another run indexed already
    assert rag.status == added and make_rag().status.finished_at == added.finished_at  # nor is its record
    rag.index()  # asked for: reported, though it changed nothing
    assert rag.status.last and rag.status.last.added == 0 and rag.status.last.unchanged == 1
    path.write_text(path.read_text() + "\nA new line.\n")
    rag.index(background=True)
    assert rag.status.last and rag.status.last.updated == 1
