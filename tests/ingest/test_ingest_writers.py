"""Two writers on one store, as real processes: neither may lose the other's chunks.

Every ingest ends by sweeping chunks that have no document record (what a killed run left), and
an in-flight document of another writer looks just like that until its record is written. The
writer lock (``vectorstore.writer``) makes the second writer wait instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.pipeline import _stored_chunks, ingest, prepare
from ragchat.settings import Settings
from vectorstore.store import Store
from vectorstore.writer import lock_path, writing

from tests.conftest import CORPUS, ROOT

WAITING = "another ingest is running on this store"


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, name in ((first, "003_6819430c7062e888.txt"), (second, "004_7c390ca7a747a0fa.txt")):
        folder.mkdir()
        shutil.copy(CORPUS / name, folder)
    return first, second


def _start_ingest(settings: Settings, *paths: Path) -> tuple[subprocess.Popen, list[str]]:
    """``ragchat ingest`` in its own process; its stderr lines collect in the returned list as they come."""
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "ingest", *map(str, paths)], cwd=ROOT,
                            env={**os.environ, "RAGCHAT_DATA_DIR": str(settings.data_dir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    return proc, lines


def _contents(settings: Settings) -> tuple[set, dict]:
    """What a reader sees: every chunk (id, text, offsets) and every document's hash and chunk count."""
    store = Store(settings)
    chunks = {(c.chunk_id, c.text, c.start, c.end) for c in store.all_chunks()}
    return chunks, {i: (r.content_hash, r.chunks) for i, r in store.documents().items()}


def test_a_second_ingest_waits_for_an_ingest_in_flight_and_keeps_its_chunks(settings, embeddings, tmp_path):
    first, second = _folders(tmp_path)
    # This test process is the first ingest, stopped where the race was: its document's chunks are
    # in the store and its record (the commit marker) is not, and it holds the writer lock as every
    # ingest does. The second ingest is the real command in another process.
    prepared = prepare(next(first.iterdir()), settings)
    chunks = _stored_chunks(prepared)
    vectors = embeddings.embed_documents([c.text for c in chunks])
    store = Store(settings)
    with writing(settings, on_wait=lambda: pytest.fail("nothing else should hold the lock yet")):
        store.record_model(embeddings.name, len(vectors[0]))
        store.chunks.upsert(ids=[c.chunk_id for c in chunks], embeddings=vectors, documents=[c.text for c in chunks],
                            metadatas=[{"doc_id": c.doc_id, "start": c.start, "end": c.end, "index": c.index,
                                        "source": c.source, "title": c.title} for c in chunks])
        proc, lines = _start_ingest(settings, second)
        deadline = time.monotonic() + 180
        while not any(WAITING in line for line in lines):
            assert proc.poll() is None, f"the second ingest ran without waiting: {''.join(lines)}"
            assert time.monotonic() < deadline, "the second ingest neither waited nor finished"
            time.sleep(0.2)
        time.sleep(1)  # waiting, not merely announcing it
        assert proc.poll() is None
        assert store.chunk_count(prepared.record.doc_id) == len(chunks)
        store.put_document(prepared.record, prepared.text, chunks, vectors)  # the first ingest commits
    assert proc.wait(timeout=300) == 0, "".join(lines)
    assert "1 added" in "".join(lines)

    clean = Settings().replace(data_dir=tmp_path / "clean")
    ingest([first, second], clean, embeddings=embeddings, progress=False)
    assert _contents(settings) == _contents(clean)


def test_two_ingest_processes_at_once_end_as_one_clean_ingest(settings, embeddings, tmp_path):
    first, second = _folders(tmp_path)
    runs = [_start_ingest(settings, folder) for folder in (first, second)]
    for proc, lines in runs:
        assert proc.wait(timeout=300) == 0, "".join(lines)
        assert "1 added" in "".join(lines)

    clean = Settings().replace(data_dir=tmp_path / "clean")
    ingest([first, second], clean, embeddings=embeddings, progress=False)
    chunks, records = _contents(settings)
    assert len(records) == 2 and (chunks, records) == _contents(clean)
    assert lock_path(settings).exists()  # left in place: removing it would split later waiters across two files
