"""A Chroma server that is down or killed: every shell says so in one line (which server, what to
run), never with a traceback; the HTTP server answers 503. Real `chroma run` servers, really killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from ingest.pipeline import ingest
from ragchat.library import Library
from ragchat.server import create_app
from ragchat.settings import Settings
from vectorstore.store import Store, StoreUnreachable, unreachable

from tests.conftest import CORPUS, ROOT, start_chroma

QUESTION = "How many TTP attacks took place in Pakistan in 2023?"


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "RAGCHAT_DATA_DIR": str(settings.data_dir), "CHROMA_HOST": settings.store.chroma_host,
            "CHROMA_PORT": str(settings.store.chroma_port)}


def _ragchat(*args: str, settings: Settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ragchat.cli", *args], cwd=ROOT, env=_env(settings),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def killed(tmp_path, embeddings) -> tuple[Settings, Library]:
    """A server store holding a document, a library opened on it (as a running app or server has
    one), and then the server killed."""
    proc, port = start_chroma(tmp_path)
    settings = Settings().replace(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port)
    ingest([CORPUS / "003_6819430c7062e888.txt"], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    library.warm()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return settings, library


def test_cli_ask_status_and_ingest_say_which_server_is_unreachable_in_one_line(killed, tmp_path):
    settings, _ = killed
    line = f"error: {unreachable(settings)}"
    assert f"http://127.0.0.1:{settings.store.chroma_port} is unreachable" in line
    assert f"chroma run --host 127.0.0.1 --port {settings.store.chroma_port}" in line
    for args in (["ask", QUESTION], ["status"], ["ingest", str(CORPUS)]):
        run = _ragchat(*args, settings=settings)
        assert (run.returncode, run.stderr.strip().splitlines()) == (2, [line]), (args, run.stderr)


def test_an_open_library_and_the_http_server_say_it_too(killed):
    settings, library = killed
    with pytest.raises(StoreUnreachable, match="is unreachable"):
        library.ask(QUESTION)
    with TestClient(create_app(library), base_url="http://127.0.0.1") as client:
        for reply in (client.get("/healthz"), client.post("/v1/ask", json={"question": QUESTION})):
            assert reply.status_code == 503
            assert reply.json()["error"]["message"] == unreachable(settings)


def test_the_app_shows_one_line_in_the_sidebar_and_in_the_answer(killed, monkeypatch):
    settings, _ = killed
    for name, value in _env(settings).items():
        monkeypatch.setenv(name, value)
    app = AppTest.from_file(str(ROOT / "chatbot" / "ui" / "app.py"), default_timeout=180).run()
    app.chat_input[0].set_value(QUESTION).run()
    assert not app.exception, app.exception
    assert [e.value for e in app.error] == [unreachable(settings)] * 2  # the library list and the answer


def test_an_ingest_whose_server_is_killed_mid_run_ends_with_one_line(tmp_path):
    proc, port = start_chroma(tmp_path)
    settings = Settings().replace(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port)
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    run = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "ingest", str(folder)], cwd=ROOT, env=_env(settings),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while Store(settings).count() == 0:  # the first document is in: the run is under way
        assert run.poll() is None and time.monotonic() < deadline, "the ingest ended before it wrote anything"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 2 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == f"error: {unreachable(settings)}"
    assert [line for line in stderr.splitlines() if "error" in line.lower()] == [f"error: {unreachable(settings)}"]
