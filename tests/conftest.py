"""Shared fixtures: the real embedding model and one real Chroma store of the bundled corpus.

Building the corpus store costs ~10 s of embedding on two cores, so it is built once per test
session and shared read-only; tests that write get their own store under ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from ragchat.settings import Settings
from vectorstore.embeddings import LocalEmbeddings, embeddings_for

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture(scope="session")
def embeddings() -> LocalEmbeddings:
    """The model and backend the default settings name, as the app and CLI use it."""
    return embeddings_for(Settings())


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory, embeddings) -> Settings:
    """Settings of a store holding the bundled corpus. Treat it as read-only."""
    settings = Settings().replace(data_dir=tmp_path_factory.mktemp("corpus-data"))
    ingest([CORPUS], settings, embeddings=embeddings, progress=False)
    return settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings of an empty store of this test's own."""
    return Settings().replace(data_dir=tmp_path / "data")


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus (with its manifest)."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


@pytest.fixture
def output_dir(request) -> Path:
    """A kept folder for artefacts a person may want to look at (screenshots, reports)."""
    path = OUTPUT / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that must run this checkout's code, not an installed copy."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_chroma(folder: Path):
    """A real `chroma run` server storing under ``folder``, on a free loopback port: (process, port)."""
    import subprocess
    import sys
    import time

    import chromadb

    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return proc, port
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"chroma run did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on a free loopback port; yields (host, port)."""
    proc, port = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield "127.0.0.1", port
    proc.terminate()
    proc.wait(timeout=20)
