"""A `rag serve` subprocess on loopback for the benchmarks (shared by bench_api and bench_load)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

RAG_BIN = str(Path(sys.executable).parent / "rag")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int, out: IO[bytes] | int = subprocess.DEVNULL,
                 timeout: float = 180) -> subprocess.Popen[bytes]:
    """`rag serve` on 127.0.0.1:port; returns once /health answers."""
    proc = subprocess.Popen([RAG_BIN, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"rag serve did not answer within {timeout:.0f} s")
