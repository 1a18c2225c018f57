"""`rag ...` verbs: parse the arguments, call Rag, print (heavy modules load only when needed)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.app import Rag
    from rag.cli.remote import RemoteRag
    from rag.embed.base import Embedder
    from rag.models import IndexReport
    from rag.settings import Settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ask your notes: index them, search them, get cited answers.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
KOption = Annotated[int, typer.Option("-k", "--k", help="How many passages.")]
SourceOption = Annotated[list[str] | None, typer.Option("--source", help="Only these notes.")]
TagOption = Annotated[list[str] | None, typer.Option("--tag", help="Only notes with this tag.")]
PROGRESS_SECONDS = 5.0  # how often `rag index` says how far it is when stderr is no terminal


def load(**overrides: object) -> Settings:
    from rag.settings import load_settings

    return load_settings(**overrides)


@contextmanager
def open_notes(**overrides: object) -> Iterator[Rag | RemoteRag]:
    """The `rag serve` holding the data folder, through its API; else the folder itself, held so that no
    server opens the same store until the command is done."""
    from rag.app import Rag
    from rag.index.presence import find_server

    settings = load(**overrides)
    with find_server(settings.data_dir) as record:
        if record is None:
            yield Rag(settings)
            return
        from rag.cli.remote import RemoteRag

        with RemoteRag(record, settings) as remote:
            yield remote


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@cli.command()
def index(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the corpus folder).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and start clean.")] = False,
    corpus: Annotated[Path | None, typer.Option(help="Notes folder (RAG_CORPUS_DIR).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """(Re-)index the notes; only what changed is embedded (by the server, while `rag serve` runs)."""
    with open_notes(corpus_dir=corpus) as rag:
        if sys.stderr.isatty() and not as_json:
            report = index_with_progress(rag, paths or [], rebuild)
        else:  # a log, a pipe, CI: plain lines, so a long run shows it is alive
            report = rag.index(paths or [], rebuild, progress_lines())
    emit_report(report, as_json)


def index_with_progress(rag: Rag | RemoteRag, paths: list[Path], rebuild: bool) -> IndexReport:
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("embedding", total=None)
        return rag.index(paths, rebuild, lambda done, total: bar.update(task, completed=done, total=total))


def progress_lines(every: float = PROGRESS_SECONDS) -> Callable[[int, int], None]:
    """A progress callback that writes "embedded 64/1966" to stderr: after the first batch, then every few seconds."""
    last = [0.0]

    def line(done: int, total: int) -> None:
        now = time.monotonic()
        if not last[0] or now - last[0] >= every or done == total:
            last[0] = now
            typer.echo(f"embedded {done}/{total}", err=True)

    return line


def print_report(report: IndexReport) -> None:
    for f in report.files:
        if f.status != "unchanged":
            reason = f" ({f.reason})" if f.reason else ""
            typer.echo(f"{f.status:9} {f.source}{reason}")
    typer.echo(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
        f"{report.embedded} chunks embedded, {report.chunks} in the index"
        + (f"; {report.units} answer units embedded" if report.units else "") + f" ({report.seconds:.2f} s)"
    )


@cli.command()
def search(
    query: str,
    k: KOption = 5,
    source: SourceOption = None,
    tag: TagOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The passages that best match a query."""
    with open_notes() as rag:
        rag.warm_up()
        results = rag.search(query, k, source or [], tags=tag or [])
    if as_json:
        from rag.serve.models import passage_out

        emit_json({"query": query, "results": [passage_out(p).model_dump() for p in results]})
        return
    for n, p in enumerate(results, 1):
        typer.echo(f"[{n}] {p.place()}  {p.heading}  (score {p.score:.4f})")
        typer.echo("    " + p.text[:300].replace("\n", "\n    ") + ("…" if len(p.text) > 300 else ""))


@cli.command()
def ask(question: str, k: KOption = 5, source: SourceOption = None, tag: TagOption = None,
        as_json: JsonFlag = False) -> None:
    """A short answer, every sentence cited to the lines it came from."""
    with open_notes() as rag:
        answer = rag.ask(question, k, sources=source or [], tags=tag or [])
    if as_json:
        from rag.serve.models import answer_out

        emit_json(answer_out(answer).model_dump())
        return
    typer.echo(answer.text)
    for c in answer.citations:
        typer.echo(f"  [{c.n}] {c.place()}  {c.passage.heading}")


@cli.command()
def sources(as_json: JsonFlag = False) -> None:
    """The indexed notes with their chunk counts."""
    with open_notes() as rag:
        infos = rag.sources()
    if as_json:
        from rag.serve.models import sources_out

        emit_json(sources_out(infos).model_dump())
        return
    if not infos:
        typer.echo("nothing indexed yet: run `rag index`")
    for s in infos:
        tags = f"  #{' #'.join(s.tags)}" if s.tags else ""
        typer.echo(f"{s.chunks:6} chunks  {s.indexed_at}  {s.source}{tags}")


@cli.command()
def delete(name: Annotated[str, typer.Argument(help="The note, as `rag sources` lists it.")],
           as_json: JsonFlag = False) -> None:
    """Move a note to the trash (RAG_DATA_DIR/trash) and take it out of the index; `rag restore` undoes it."""
    with open_notes() as rag:
        report = rag.remove_note(name)
    emit_report(report, as_json)
    if not as_json:
        typer.echo(f"moved to {report.trash}: `rag restore {name}` brings it back")


@cli.command()
def restore(name: Annotated[str, typer.Argument(help="The deleted note's name, as `rag trash` lists it.")],
            as_json: JsonFlag = False) -> None:
    """Bring a deleted note back from the trash and index it."""
    with open_notes() as rag:
        emit_report(rag.restore_note(name), as_json)


@cli.command()
def trash(as_json: JsonFlag = False) -> None:
    """The deleted notes kept in the trash, oldest first (RAG_TRASH_DAYS days)."""
    from rag.index.trash import Trash

    settings = load()
    kept = Trash(settings.data_dir, settings.trash_days).list()
    if as_json:
        emit_json({"trash": [{"source": t.source, "path": str(t.path), "deleted_at": t.deleted_at} for t in kept]})
        return
    for t in kept:
        typer.echo(f"{t.deleted_at}  {t.source}")
    if not kept:
        typer.echo("the trash is empty")


def emit_report(report: IndexReport, as_json: bool) -> None:
    if as_json:
        from rag.serve.models import summary_out

        emit_json(summary_out(report).model_dump())
    else:
        print_report(report)


@cli.command()
def quiz(
    topic: Annotated[str | None, typer.Option(help="Only cards on this topic (matched by search), e.g. SVMs.")] = None,
    source: Annotated[str | None, typer.Option(help="Only cards of this note.")] = None,
) -> None:
    """Study mode: cards from your notes one at a time, graded against them, scheduled by spaced repetition."""
    from rich.console import Console

    from rag.cli.quiz import quiz_client, run_quiz

    with open_notes() as rag:
        run_quiz(quiz_client(rag), source, topic, Console(highlight=False))


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (RAG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RAG_PORT).")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Re-index the notes folder a moment after its notes change (RAG_WATCH=1).")] = False,
) -> None:
    """The REST API and the web UI in one process; the other `rag` commands go through it while it runs."""
    from rag.app import Rag
    from rag.index.presence import hold_for_serving
    from rag.serve.server import serve as run_server

    settings = load(host=host, port=port, watch=watch or None)
    with hold_for_serving(settings.data_dir):
        run_server(Rag(settings), "--host" if host is not None else "RAG_HOST")


@cli.command()
def mcp() -> None:
    """Serve the notes to an AI assistant over the Model Context Protocol on stdin and stdout (the command for
    its config file); through `rag serve` while one runs."""
    from rag.app import Rag
    from rag.cli.quiz import quiz_client
    from rag.serve.api import package_version
    from rag.serve.mcp import build_mcp

    with open_notes() as rag:
        if isinstance(rag, Rag):
            rag.warm_up()  # the assistant's first call should not wait for the model
        build_mcp(rag, lambda: quiz_client(rag), package_version()).run("stdio")


@cli.command("eval")
def evaluate(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Question sets (JSONL); default eval/dev_questions.jsonl and eval/answer_questions.jsonl.")] = None,
    k: KOption = 10,
    source: Annotated[list[str] | None, typer.Option(
        help="The note the gold line ranges refer to (default interview-notes.md); with --self, only these notes.")
    ] = None,
    precision: Annotated[list[str] | None, typer.Option(
        "--precision", help="Also score the hybrid search with the ONNX model at this precision (fp32, int8).")] = None,
    self_check: Annotated[bool, typer.Option(
        "--self", help="No question file: ask the questions the notes' own structure poses (the quiz's cards) and "
                       "score whether each answer quotes the lines that answer it, per note.")] = False,
    limit: Annotated[int | None, typer.Option(
        min=1, help="With --self: at most this many pairs a note (a fixed sample, the same every run).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Retrieval quality and abstention per retrieval variant; answer quality for a file with facets; with --self,
    answer quality on questions derived from the notes themselves.

    It reads the index itself: while `rag serve` holds the data folder, stop the server first (with
    RAG_CHROMA_URL set it runs beside the server)."""
    check_eval_options(files, source or [], precision or [], self_check, limit)
    with local_only(load()) as rag:
        if self_check:
            run_self_eval(rag, source or [], limit, as_json)
        else:
            run_eval(rag, files, k, (source or ["interview-notes.md"])[0], precision or [], as_json)


def check_eval_options(files: list[Path] | None, sources: list[str], precision: list[str], self_check: bool,
                       limit: int | None) -> None:
    """InvalidInput for options that do not go together, before the index is opened."""
    from rag.errors import InvalidInput

    if self_check and (files or precision):
        raise InvalidInput("--self derives its questions from the notes: give no question file and no --precision")
    if not self_check and limit is not None:
        raise InvalidInput("--limit goes with --self (pairs per note)")
    if not self_check and len(sources) > 1:
        raise InvalidInput("one --source for a question file: the note its gold line ranges refer to")


@contextmanager
def local_only(settings: Settings) -> Iterator[Rag]:
    """The folder itself; ServerRunning while a server holds its embedded store."""
    from rag.app import Rag
    from rag.errors import ServerRunning
    from rag.index.presence import find_server

    if settings.chroma_url:  # the store is a Chroma server: any number of processes may use it
        yield Rag(settings)
        return
    with find_server(settings.data_dir) as record:
        if record is not None:
            raise ServerRunning(f"`rag eval` reads the index itself, and the notes-rag server at {record.url} "
                                f"(pid {record.pid}) holds it ({settings.data_dir}): stop the server, then run "
                                "`rag eval` again")
        yield Rag(settings)


def run_eval(rag: Rag, files: list[Path] | None, k: int, source: str, precision: list[str], as_json: bool) -> None:
    from rag.app import Rag
    from rag.evaluate.answers import evaluate_answers, format_answer_report, has_facets
    from rag.evaluate.retrieval import evaluate_file, evaluate_precision, format_report

    def container(settings: Settings, embedder: Embedder) -> Rag:
        return Rag(settings, embedder=embedder)

    reports = []
    for file in files or [Path("eval/dev_questions.jsonl"), Path("eval/answer_questions.jsonl")]:
        report = evaluate_file(rag, file, k, source)
        report["precisions"] = {p: evaluate_precision(rag, file, k, source, p, container) for p in precision}
        if has_facets(file):
            report["answers"] = evaluate_answers(rag, file)
        reports.append(report)
        if not as_json:
            typer.echo(format_report(report))
            if "answers" in report:
                typer.echo(format_answer_report(report["answers"]))
            typer.echo("")
    if as_json:
        emit_json(reports[0] if len(reports) == 1 else reports)


def run_self_eval(rag: Rag, sources: list[str], limit: int | None, as_json: bool) -> None:
    from dataclasses import asdict

    from rag.evaluate.self_check import evaluate_self, format_self_report

    if sys.stderr.isatty() and not as_json:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("asking", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = evaluate_self(rag, sources, limit, step)
    else:
        report = evaluate_self(rag, sources, limit)
    if as_json:
        emit_json(asdict(report))
    else:
        typer.echo(format_self_report(report))


def main() -> None:
    """Entry point: RagError -> one line on stderr and exit status 1 (usage errors exit 2, via Typer)."""
    try:
        cli()
    except RagError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
