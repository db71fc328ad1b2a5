"""Ingestion through the real command and a real Chroma server: exit codes, kills, server mode."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ingest.pipeline import discover, IngestReport, prepare
from ragchat.settings import Settings
from vectorstore import lexical
from vectorstore.store import Store, chunk_id

from tests.conftest import CORPUS, ROOT


def _ragchat(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ragchat.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


def _env(settings: Settings) -> dict[str, str]:
    return {"RAGCHAT_DATA_DIR": str(settings.data_dir)}


def test_cli_reports_skips_and_exit_status(settings, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CORPUS / "004_7c390ca7a747a0fa.txt", folder)
    (folder / "broken.pdf").write_bytes(b"not a pdf")

    ok = _ragchat("ingest", str(folder), env=_env(settings))
    assert ok.returncode == 0
    assert re.search(r"skipped .*broken\.pdf: corrupt PDF", ok.stderr)
    assert "1 added, 0 updated, 0 unchanged, 0 pruned, 1 failed" in ok.stderr

    strict = _ragchat("ingest", str(folder), "--strict", env=_env(settings))
    assert strict.returncode == 1 and "1 unchanged" in strict.stderr

    nothing = _ragchat("ingest", str(tmp_path / "does-not-exist"), env=_env(settings))
    assert nothing.returncode == 1 and "no such file or folder" in nothing.stderr

    status = json.loads(_ragchat("status", "--json", env=_env(settings)).stdout)
    assert status["chunks"] >= 1 and [d["source"] for d in status["documents"]] == ["004_7c390ca7a747a0fa.txt"]
    assert status["embedding_model"] == "all-MiniLM-L6-v2" and status["embedding_dim"] == "384"


def test_status_of_a_library_not_made_yet_says_empty_and_creates_nothing(tmp_path):
    fresh = tmp_path / "not-yet"
    shown = _ragchat("status", env={"RAGCHAT_DATA_DIR": str(fresh)})
    assert shown.returncode == 0 and "empty: add documents with `ragchat ingest PATH`" in shown.stdout
    assert not fresh.exists()


def _long_corpus(folder: Path) -> Path:
    """The corpus plus renamed copies of its long report, so a kill lands mid-run."""
    shutil.copytree(CORPUS, folder)
    long_doc = (CORPUS / "002_c8b9326db87545d0.txt").read_text(encoding="utf-8")
    for n in range(4):
        (folder / f"copy_{n}.txt").write_text(f"Copy {n}.\n\n{long_doc}", encoding="utf-8")
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def _kill_after_chunks(args: list[str], env: dict[str, str], at_least: int) -> None:
    """Start an ingest and SIGKILL it once its progress bar shows `at_least` chunks written."""
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", *args], cwd=ROOT, env={**os.environ, **env},
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = bytearray()
    reader = threading.Thread(target=lambda: [seen.extend(b) for b in iter(lambda: proc.stderr.read1(256), b"")], daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        counts = [int(n) for n in re.findall(rb"(\d+) chunks,", bytes(seen))]
        if counts and max(counts) >= at_least:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"ingest finished before it could be killed: {bytes(seen)[-500:]!r}"


def test_an_ingest_killed_twice_and_rerun_ends_as_one_clean_run(settings, tmp_path):
    folder = _long_corpus(tmp_path / "corpus")
    env = _env(settings)
    _kill_after_chunks(["ingest", str(folder)], env, at_least=1)
    _kill_after_chunks(["ingest", str(folder)], env, at_least=60)
    final = _ragchat("ingest", str(folder), env=env)
    assert final.returncode == 0, final.stderr

    # What one clean run would store, computed without embedding anything.
    files = list(discover([folder], IngestReport()))
    expected = {}
    for path in files:
        prepared = prepare(path, settings)
        for chunk in prepared.chunks:
            expected[chunk_id(prepared.record.doc_id, chunk.index)] = chunk.text
    store = Store(settings)
    stored = {c.chunk_id: c.text for c in store.all_chunks()}
    assert stored == expected  # same ids, same texts, no duplicates, no orphans
    assert store.count() == len(expected)
    assert {r.source for r in store.documents().values()} == {p.name for p in files}
    index = lexical.load_index(settings, store)
    assert index.fingerprint == store.fingerprint() and len(index) == len(expected)
    assert all(index.search(text, 1) for text in list(expected.values())[::25])


def test_server_mode_ingests_and_answers_through_a_real_chroma_server(chroma_server, tmp_path):
    host, port = chroma_server
    env = {"CHROMA_HOST": host, "CHROMA_PORT": str(port), "RAGCHAT_DATA_DIR": str(tmp_path / "data"),
           "RAGCHAT_COLLECTION": "server_ingest_test"}
    first = _ragchat("ingest", str(CORPUS), env=env)
    assert first.returncode == 0, first.stderr
    assert "5 added" in first.stderr
    again = _ragchat("ingest", str(CORPUS), env=env)
    assert "5 unchanged" in again.stderr and "0 chunks written" in again.stderr

    status = json.loads(_ragchat("status", "--json", env=env).stdout)
    assert status["location"] == f"chroma server http://{host}:{port}" and len(status["documents"]) == 5

    # The data is really in the server, not in a local folder.
    assert not (tmp_path / "data" / "store").exists()
    settings = Settings().replace(chroma_host=host, chroma_port=port, data_dir=tmp_path / "data", collection="server_ingest_test")
    assert Store(settings).count() == status["chunks"]
