"""Shared fixtures: the real model loaded once, the real corpus indexed once per session."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from rag.app import Rag
from rag.embed import build_embedder
from rag.embed.base import Embedder
from rag.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
REAL_NOTE = CORPUS / "interview-notes.md"
MULTI = ROOT / "eval" / "multi" / "corpus"  # other people's notes in every format (eval/multi/SOURCES.md)
TEST_CACHE = ROOT / ".rag-test"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default embedder (the packaged model), loaded once for the whole session.

    Its exported ONNX file is cached in `.rag-test/` (keyed by the weights' hash) so runs reuse it.
    """
    settings = load_settings(data_dir=TEST_CACHE)
    model = build_embedder(settings)
    model.embed(["load the model now"])
    return model


def make_settings(root: Path, **overrides: object) -> Settings:
    """Settings for a throwaway corpus folder and data folder under `root`."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    return load_settings(**{"corpus_dir": corpus, "data_dir": root / "data", **overrides})


@pytest.fixture
def make_rag(tmp_path: Path, embedder: Embedder):
    """A factory of Rag containers over an empty temp corpus, sharing the session's model."""

    def factory(**overrides: object) -> Rag:
        return Rag(make_settings(tmp_path, **overrides), embedder=embedder)

    return factory


@pytest.fixture(scope="session")
def corpus_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Rag]:
    """The real notes, copied to a temp corpus and indexed once; tests must not modify them."""
    root = tmp_path_factory.mktemp("real")
    settings = make_settings(root)
    shutil.copy(REAL_NOTE, settings.corpus_dir / REAL_NOTE.name)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    yield rag


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (which cannot download a browser here), one per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- Chroma server (tests/test_chroma_server.py, tests/test_faults.py) ---------------------------

CHROMA_BIN = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def thread_state(task: Path) -> str:
    """The one-letter state of a thread from /proc (R, S, D, T, ...); "" once it has gone."""
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


class ChromaServer:
    """`chroma run` on loopback as a child process; stop and start again on the same port and folder."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path, self.port = path, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait (bounded) for its heartbeat."""
        log = open(self.path.parent / f"chroma-{self.port}.log", "ab")  # noqa: SIM115 - the child owns it
        self._proc = subprocess.Popen(
            [str(CHROMA_BIN), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"chroma exited with {self._proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        """Terminate the server (kill it if it lingers) and wait until the port is free."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def pause(self, timeout: float = 10.0) -> None:
        """Freeze the server (SIGSTOP): it accepts connections but never answers.

        The kernel stops one thread first and the others only when that one runs, so on a busy machine the
        server can still answer for a moment after the signal: wait until every thread is stopped.
        """
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)
        tasks = Path(f"/proc/{self._proc.pid}/task")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(thread_state(t) in {"T", "t"} for t in tasks.iterdir()):
                return
            time.sleep(0.01)
        raise RuntimeError(f"chroma (pid {self._proc.pid}) did not stop within {timeout} s")

    def resume(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One Chroma server for the session; tests use their own collection on it."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def collection_name(request: pytest.FixtureRequest) -> str:
    """A collection name unique to the test (Chroma wants 3-512 of [a-zA-Z0-9._-])."""
    return "t-" + re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[-60:].strip("-") + f"-{os.getpid()}"
