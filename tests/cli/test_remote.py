"""One writer per data folder: while a real `rag serve` runs, the CLI goes through its API (rag/cli/remote.py).

The server is `rag serve --port 0` in a subprocess over a temp data folder, with the real model and embedded
Chroma. Each CLI run reports which modules it imported: a command that went through the server never
imports chromadb or onnxruntime, so it cannot have opened the store or the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.cli.commands import local_only
from rag.cli.remote import RemoteRag
from rag.errors import AuthError, NotFound, ServerRunning, ServerUnreachable
from rag.index.presence import RECORD_NAME, ServerRecord, announce, find_server, hold_for_serving, read_record
from rag.settings import load_settings
from tests.conftest import ROOT, TEST_CACHE, free_port

KEY = "remote-test-key"
STORE = ("chromadb", "onnxruntime", "torch")
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps(sorted(m for m in {store} if m in sys.modules)), file=sys.stderr))
sys.argv = ["rag", *{args}]
from rag.cli.commands import main
main()
"""
BIRDS = ("# Birds\n\n## Penguins\n\nPenguins are flightless birds of the southern hemisphere.\n\n"
         "## Owls\n\nOwls hunt at night and turn their heads far round.\n")
TREES = "# Trees\n\n## Oaks\n\nOaks carry acorns and live for centuries.\n"


class Served:
    """`rag serve --port 0` on a data folder, as a child process whose log is kept."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.data = Path(env["RAG_DATA_DIR"])
        self.corpus = Path(env["RAG_CORPUS_DIR"])
        self.log_path = root / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait (bounded) until its record is written and /health answers."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", "0"], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            record = read_record(self.data)
            if record is not None and record.pid == self.proc.pid:
                self.url = record.url
                if httpx.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"rag serve did not answer within {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(self, path: str, body: dict[str, object], key: str | None = KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=120)


def folder(root: Path, **notes: str) -> dict[str, str]:
    """A corpus folder with these notes and a data folder holding the exported model; their environment."""
    corpus, data = root / "corpus", root / "data"
    corpus.mkdir(parents=True)
    for name, text in notes.items():
        (corpus / name).write_text(text)
    shutil.copytree(TEST_CACHE / "onnx", data / "onnx")  # the session's export: no second export
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(data)}
    for name in ("RAG_CHROMA_URL", "RAG_API_KEY"):
        env.pop(name, None)
    return env


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> tuple[int, str, str, list[str]]:
    """The CLI in a child process: exit code, stdout, stderr, and which of STORE it imported."""
    code = PROBE.format(store=STORE, args=list(args))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    modules = next((json.loads(line[8:]) for line in proc.stderr.splitlines() if line.startswith("MODULES=")), None)
    assert modules is not None, proc.stderr
    stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("MODULES="))
    return proc.returncode, proc.stdout, stderr, modules


def one_line_error(code: int, err: str) -> bool:
    """What every user error of the CLI looks like: exit 1 and one line on stderr."""
    return code == 1 and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    """A real `rag serve` with a key over two small notes, indexed through its API."""
    root = tmp_path_factory.mktemp("served")
    server = Served(root, {**folder(root, **{"birds.md": BIRDS, "trees.md": TREES}), "RAG_API_KEY": KEY})
    server.start()
    try:
        assert server.post("/v1/index", {}).status_code == 200
        yield server
    finally:
        server.stop()


def with_key(served: Served) -> dict[str, str]:
    return {**served.env, "RAG_API_KEY": KEY}


def without_key(served: Served) -> dict[str, str]:
    return {k: v for k, v in served.env.items() if k != "RAG_API_KEY"}


# --- while `rag serve` runs ------------------------------------------------------------------------------------

def test_rag_index_while_serving_adds_the_note_to_the_server(served: Served):
    (served.corpus / "volcanoes.md").write_text("# Volcanoes\n\n## Magma\n\nMagma rises through vents and "
                                                "cools into basalt.\n")
    code, out, err, modules = run(with_key(served), "index", "--json")
    assert code == 0, err
    assert modules == []  # the model and the store stayed in the server
    files = {f["source"]: f["status"] for f in json.loads(out)["files"]}
    assert files["volcanoes.md"] == "added" and files["birds.md"] == "unchanged"

    code, out, err, modules = run(without_key(served), "search", "basalt vents", "--source", "volcanoes.md",
                                  "--json")
    assert code == 0 and modules == [], err
    results = json.loads(out)["results"]
    assert results and {r["source"] for r in results} == {"volcanoes.md"}
    own = served.post("/v1/search", {"query": "basalt vents", "sources": ["volcanoes.md"]}, key=None)
    assert own.status_code == 200 and own.json() == json.loads(out)  # the server sees it too: no restart
    assert '"POST /v1/index HTTP/1.1" 200' in served.log() and '"POST /v1/search HTTP/1.1" 200' in served.log()


def test_sources_and_ask_go_through_the_server(served: Served):
    env = without_key(served)
    code, out, err, modules = run(env, "sources", "--json")
    assert code == 0 and modules == [], err
    assert json.loads(out) == httpx.get(f"{served.url}/v1/sources", timeout=60).json()
    code, out, _, modules = run(env, "sources")
    assert code == 0 and modules == [] and "birds.md" in out and "trees.md" in out

    question = "what do oaks carry?"
    code, out, err, modules = run(env, "ask", question, "--json")
    assert code == 0 and modules == [], err
    assert json.loads(out) == served.post("/v1/ask", {"question": question}, key=None).json()
    code, out, _, _ = run(env, "ask", question)
    assert code == 0 and "acorns" in out and "trees.md:" in out
    log = served.log()
    assert '"GET /v1/sources HTTP/1.1" 200' in log and '"POST /v1/ask HTTP/1.1" 200' in log


def test_index_paths_and_rebuild_go_through_the_server(served: Served, tmp_path: Path):
    env = with_key(served)
    (served.corpus / "sub").mkdir(exist_ok=True)
    (served.corpus / "sub" / "rivers.md").write_text("# Rivers\n\n## Deltas\n\nA delta forms where a river "
                                                     "drops its silt at the sea.\n")
    code, out, err, modules = run(env, "index", str(served.corpus / "sub" / "rivers.md"), "--json")
    assert code == 0 and modules == [], err
    assert [(f["source"], f["status"]) for f in json.loads(out)["files"]] == [("sub/rivers.md", "added")]
    code, out, err, _ = run(env, "index", "sub", "--json", cwd=served.corpus)  # relative to where it runs
    assert code == 0 and json.loads(out)["unchanged"] == 1, err

    outside = tmp_path / "outside.md"
    outside.write_text("# Outside\n\nNot in the corpus.\n")
    for args, message in [((str(outside),), "outside the corpus folder"),
                          ((str(served.corpus / "missing.md"),), "does not exist"),
                          (("--corpus", str(tmp_path)), f"indexes {served.corpus}")]:
        code, _, err, _ = run(env, "index", *args)
        assert one_line_error(code, err) and message in err, (args, err)
    # The server checks the paths it is sent on its own.
    for paths, status, message in [(["../outside.md"], 422, "outside the corpus folder"),
                                   ([str(outside)], 422, "not a path inside"), (["missing.md"], 404, "does not exist")]:
        response = served.post("/v1/index", {"paths": paths})
        assert response.status_code == status and message in response.json()["detail"], response.text

    code, out, err, modules = run(env, "index", "--rebuild", "--json")
    assert code == 0 and modules == [], err
    report = json.loads(out)
    assert report["updated"] == report["unchanged"] == 0 and report["added"] == len(report["files"]) >= 3
    assert report["chunks"] == httpx.get(f"{served.url}/health", timeout=60).json()["chunks"]


def test_the_index_progress_comes_from_the_server(served: Served):
    record = read_record(served.data)
    assert record is not None
    seen: list[tuple[int, int]] = []
    with RemoteRag(record, load_settings(corpus_dir=served.corpus, data_dir=served.data, api_key=KEY)) as remote:
        report = remote.index(rebuild=True, progress=lambda done, total: seen.append((done, total)))
    total = report.embedded + report.units
    assert total > 0 and seen[-1] == (total, total)  # the bar ends full, at the server's own count
    assert all(0 <= done <= of for done, of in seen)

    # On a terminal, `rag index` draws that bar.
    leader, follower = pty.openpty()
    env = {**with_key(served), "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "rag", "index", "--rebuild"], env=env,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    screen, deadline = b"", time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], 1.0)[0]:
            continue
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child has exited and closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert proc.wait(timeout=300) == 0, screen
    text = screen.decode(errors="replace")
    assert "embedding" in text and "100%" in text and "chunks embedded" in text


def test_a_wrong_or_missing_key_is_a_one_line_error(served: Served):
    for env, message in [(without_key(served), "needs its key"), ({**served.env, "RAG_API_KEY": "wrong"}, "refused")]:
        code, out, err, modules = run(env, "index")
        assert one_line_error(code, err) and message in err and "RAG_API_KEY" in err, err
        assert out == "" and modules == []
    assert '"POST /v1/index HTTP/1.1" 401' in served.log()  # the wrong key was the server's to refuse
    code, _, _, _ = run(without_key(served), "sources")  # reading needs no key
    assert code == 0


def test_errors_read_as_they_do_locally(served: Served):
    env = without_key(served)
    for args, message in [(("search", "   "), "the query is empty"),
                          (("search", "owls", "-k", "0"), "k must be between"),
                          (("search", "owls", "--source", "nope.md"), "unknown source"),
                          (("ask", "x" * 3000), "the limit is 2000")]:
        code, _, err, modules = run(env, *args)
        assert one_line_error(code, err) and message in err and modules == [], (args, err)


def test_the_servers_errors_come_back_as_the_same_exceptions(served: Served):
    record = read_record(served.data)
    assert record is not None
    settings = load_settings(corpus_dir=served.corpus, data_dir=served.data, api_key="wrong")
    with RemoteRag(record, settings) as remote:
        with pytest.raises(NotFound, match="unknown source"):  # named by the server (X-Rag-Error)
            remote.search("owls", 3, ["nope.md"])
        with pytest.raises(AuthError, match="refused the key"):
            remote.index()
        assert [p.source for p in remote.search("owls at night", 1)] == ["birds.md"]
    stopped = ServerRecord(url="http://127.0.0.1:9", pid=record.pid, needs_key=False, corpus_dir=record.corpus_dir,
                           version="0", started_at="")
    with RemoteRag(stopped, settings) as remote, pytest.raises(ServerUnreachable, match="did not answer"):
        remote.sources()


def test_a_second_serve_and_eval_refuse_while_the_server_holds_the_folder(served: Served):
    code, _, err, modules = run(served.env, "serve", "--port", "0")
    assert one_line_error(code, err) and "already running" in err and served.url in err, err
    assert modules == []  # refused before it opened anything
    code, _, err, modules = run(served.env, "eval")
    assert one_line_error(code, err) and "stop the server" in err and modules == [], err
    assert read_record(served.data) is not None and httpx.get(f"{served.url}/health", timeout=60).status_code == 200


# --- the record's life ------------------------------------------------------------------------------------

def test_serve_removes_its_record_on_exit_and_a_killed_servers_record_is_ignored(tmp_path: Path, embedder):
    server = Served(tmp_path, folder(tmp_path, **{"birds.md": BIRDS}))
    record = server.data / RECORD_NAME
    for sig in (signal.SIGTERM, signal.SIGINT):  # `kill`, and Ctrl-C
        server.start()
        assert record.exists()
        assert server.stop(sig) == 0  # stopped as asked: a clean end
        assert not record.exists(), server.log()

    server.start()
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    assert read_record(server.data) is not None  # left behind: nobody could remove it
    code, out, err, modules = run(server.env, "index", "--json")
    assert code == 0 and "chromadb" in modules, err  # worked on the folder directly
    assert json.loads(out)["added"] == 1 and not record.exists()
    server.start()  # and a new server may start on it
    code, out, _, modules = run(server.env, "sources")
    server.stop()
    assert code == 0 and "birds.md" in out and modules == []


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_make_run_stopped_with_ctrl_c_or_kill_ends_without_a_make_error(tmp_path: Path, embedder, stop: str):
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "rag").exists():
        pytest.skip("make run starts the rag command of the venv, which this one has not")
    env = {**folder(tmp_path, **{"birds.md": BIRDS}), "RAG_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    record = Path(env["RAG_DATA_DIR"]) / RECORD_NAME
    # -o: the venv counts as installed, so the test never reinstalls it; a session of its own, as a shell's job
    make = subprocess.Popen(["make", "-C", str(ROOT), f"VENV={venv}", "-o", f"{venv}/.installed", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while (server := read_record(record.parent)) is None or not healthy(server.url):
            if make.poll() is not None or time.monotonic() > deadline:
                end_job(make)
                pytest.fail(f"make run did not serve within 180 s:\n{make.communicate()[0].decode()}")
            time.sleep(0.2)
        status = httpx.get(f"{server.url}/v1/index/status", timeout=10).json()
        assert status["last"]["added"] == 1  # the server reports the `rag index` run made before it started
        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)  # the terminal sends it to the whole job: make and the server
        else:
            os.kill(server.pid, signal.SIGTERM)  # `kill`
        out = make.communicate(timeout=60)[0].decode()
    finally:
        end_job(make)
    assert "***" not in out and "Error" not in out, out  # no "make: *** [Makefile:28: run] Error 143"
    assert "Finished server process" in out and not record.exists()
    assert make.returncode == (-signal.SIGINT if stop == "ctrl-c" else 0)  # make itself ends by the Ctrl-C


def end_job(job: subprocess.Popen[bytes]) -> None:
    """Kill what is left of a job started in a session of its own."""
    with contextlib.suppress(ProcessLookupError):  # every process of it has ended
        os.killpg(job.pid, signal.SIGKILL)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_record_of_a_dead_or_foreign_process_is_ignored(tmp_path: Path, embedder):
    env = folder(tmp_path, **{"trees.md": TREES})
    data = Path(env["RAG_DATA_DIR"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):  # a pid nobody has, and one a live process that is no server has
        stale = ServerRecord(url="http://127.0.0.1:9", pid=pid, needs_key=False,
                             corpus_dir=env["RAG_CORPUS_DIR"], version="0", started_at="")
        (data / RECORD_NAME).write_text(json.dumps(stale.__dict__))
        code, out, err, modules = run(env, "sources")
        assert code == 0 and "nothing indexed yet" in out and "chromadb" in modules, err
        assert not (data / RECORD_NAME).exists()


# --- the lock, in process ---------------------------------------------------------------------------------------

def test_a_starting_server_is_waited_for_and_a_running_one_found(tmp_path: Path):
    record = ServerRecord(url="http://127.0.0.1:9", pid=os.getpid(), needs_key=False, corpus_dir=str(tmp_path),
                          version="0", started_at="")
    with hold_for_serving(tmp_path):
        with pytest.raises(ServerUnreachable, match="not started listening"), find_server(tmp_path, wait=0.3):
            pass
        with announce(tmp_path, record):
            with find_server(tmp_path, wait=0.3) as found:
                assert found == record
            with pytest.raises(ServerRunning, match="already running"), hold_for_serving(tmp_path, wait=0.3):
                pass
        assert read_record(tmp_path) is None
    with find_server(tmp_path) as found:
        assert found is None


def test_serve_waits_for_a_command_working_on_the_folder_then_refuses(tmp_path: Path):
    with find_server(tmp_path) as found:
        assert found is None
        with pytest.raises(ServerRunning, match="another `rag` command"), hold_for_serving(tmp_path, wait=0.3):
            pass
    with hold_for_serving(tmp_path, wait=0.3):
        pass


def test_eval_runs_beside_a_server_only_when_the_store_is_a_chroma_server(tmp_path: Path):
    record = ServerRecord(url="http://127.0.0.1:9", pid=os.getpid(), needs_key=False, corpus_dir=str(tmp_path),
                          version="0", started_at="")
    with hold_for_serving(tmp_path), announce(tmp_path, record):
        with local_only(load_settings(data_dir=tmp_path, chroma_url="http://127.0.0.1:9")) as rag:
            assert rag.settings.chroma_url  # nothing embedded to share: `rag eval` may run
        with pytest.raises(ServerRunning, match="stop the server"), local_only(load_settings(data_dir=tmp_path)):
            pass
