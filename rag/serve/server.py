"""`rag serve`: where to listen, the socket, start-up, and the record that tells the CLI a server holds the data."""

from __future__ import annotations

import errno
import gc
import importlib.util
import ipaddress
import logging
import signal
import socket
import sys

from rag.app import Rag
from rag.errors import InvalidInput, RagError
from rag.index.presence import announce, base_url, server_record
from rag.ingest import check_corpus_dir
from rag.serve.api import package_version
from rag.serve.app import create_app
from rag.settings import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_host(settings: Settings, asked_by: str = "RAG_HOST") -> str:
    """Where to bind: anywhere with a key; without one, loopback only, because writes would be open to all.

    The host ignored is said on stderr, naming the setting (`asked_by`: RAG_HOST or --host).
    """
    if settings.api_key or is_loopback(settings.host):
        return settings.host
    log.warning("%s=%s is ignored: RAG_API_KEY is not set, so notes-rag will not listen on %s (anyone there could "
                "change your notes); listening on 127.0.0.1 instead. Set RAG_API_KEY to serve other hosts.",
                asked_by, settings.host, settings.host)
    return "127.0.0.1"


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, ready for uvicorn; InvalidInput saying what to do when it can't be had."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(f"port {port} is already in use on {host} (another server, perhaps another `rag "
                               "serve`): stop it, or choose another port with --port or RAG_PORT (0: any free port)"
                               ) from exc
        if exc.errno == errno.EACCES:
            raise InvalidInput(f"cannot listen on {where}: ports below 1024 need root; choose another with --port "
                               "or RAG_PORT") from exc
        raise InvalidInput(f"cannot listen on {where} ({exc.strerror}): set --host/RAG_HOST to an address of this "
                           "machine and --port/RAG_PORT to a free port") from exc
    sock.set_inheritable(True)
    return sock


def serve(rag: Rag, host_asked_by: str = "RAG_HOST") -> None:
    """`rag serve`: warm the model, listen, leave the address in the data folder, serve until interrupted.

    The caller holds the data folder (`rag.index.presence.hold_for_serving`), so no other process has its store open.
    A missing corpus folder or a port that is taken is a one-line error (RagError) before anything starts.
    """
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    import bm25s  # noqa: F401  (imported first: on import it sets its own logger to DEBUG, "Building index ...")

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = rag.settings
    if settings.watch:
        from rag.index.watch import watch_root

        watch_root(settings)  # a missing folder is a one-line error now, not a failed start-up later
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch of changes at INFO
    check_corpus_dir(settings.corpus_dir)  # uploads would fail, and the index be of notes that are not there
    host = listen_host(settings, host_asked_by)
    sock = listen_socket(host, settings.port)  # before the slow part: a port that is taken is said at once
    try:
        rag.warm_up()
    except RagError as exc:  # the store may come up later; /health reports it until then
        log.warning("warm-up failed: %s", exc)
    app = create_app(rag)
    config = uvicorn.Config(app, host=host, port=settings.port, log_level="info")
    sock.listen(config.backlog)  # connections queue from here on, so the record is true as soon as it is written
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    ignored = f"\n  {host_asked_by}={settings.host} ignored without RAG_API_KEY" if host != settings.host else ""
    sys.stderr.write(describe_service(rag, base_url(host, port)) + ignored + "\n")
    # Start-up leaves ~200k long-lived objects (Gradio, chromadb, ORT); a full collection walking them
    # pauses every request for ~90 ms. Frozen, they are never scanned again.
    gc.freeze()
    # uvicorn shuts down on SIGTERM or SIGINT (Ctrl-C), then raises it again: as SystemExit it unwinds through
    # `announce`, which removes the record (the default action would end the process on the spot).
    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGINT, exit_on_signal)
    with announce(settings.data_dir, server_record(settings, host, port, package_version())):
        uvicorn.Server(config).run(sockets=[sock])


def exit_on_signal(signum: int, frame: object) -> None:
    # Stopping when asked is a clean end, status 0: 130 or 143 would read as a failure ("make: *** Error 143").
    raise SystemExit(0)


def describe_service(rag: Rag, base: str) -> str:
    """What `rag serve` serves, printed once at start-up."""
    s = rag.settings
    try:
        indexed = f"{rag.store.count()} chunks from {len(rag.retriever.refresh().sources)} notes"
    except RagError:
        indexed = "the index (store not reachable yet)"
    answers = f"generated by {s.llm_base_url} ({s.llm_model})" if s.llm_base_url else "extractive"
    writes = "need `Authorization: Bearer <RAG_API_KEY>`" if s.api_key else "are open (no RAG_API_KEY; loopback only)"
    ui = f"  web UI   {base}/\n" if importlib.util.find_spec("ui") else ""
    watch = f"\n  watching {s.corpus_dir}: notes are re-indexed a moment after they change" if s.watch else ""
    return (f"notes-rag {package_version()} serving {indexed} in {s.corpus_dir}\n{ui}"
            f"  REST API {base}/v1/...  (docs {base}/docs)\n  answers  {answers}; writes {writes}{watch}")
