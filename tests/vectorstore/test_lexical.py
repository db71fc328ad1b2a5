"""The lexical index as a user of the store relies on it: documents come and go one at a time,
filters hold, "never mentioned" is looked up in it, and whatever a killed process or a damaged
folder left behind is repaired from Chroma (the document records stay the commit marker) without
rebuilding what is still right, or named in one line when it cannot be."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import pytest

from ingest.pipeline import doc_id_for, ingest, prepare, remove_documents
from tests.conftest import CORPUS, ROOT
from vectorstore import lexical
from vectorstore.store import Store, StoredChunk, chunk_id

EDITORIAL = "004_7c390ca7a747a0fa.txt"  # names Torkham
IQBAL = "003_6819430c7062e888.txt"  # the only one naming Barmal
MARKER = ("marker:9999", "zzmarker only a surviving index can hold")


@pytest.fixture
def two_documents(settings, embeddings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in (EDITORIAL, IQBAL):
        shutil.copy(CORPUS / name, folder)
    ingest([folder], settings, embeddings=embeddings, progress=False)
    return folder


def _mark(settings, store: Store, doc_id: str) -> None:
    """Add a chunk no rebuild from Chroma could produce, keeping the document's stamp: if it is
    still there later, the index was updated in place rather than rebuilt."""
    index = lexical.load_index(settings, store)
    chunks = [(c.chunk_id, c.text) for c in store.chunks_of([doc_id])[doc_id]] + [MARKER]
    index.replace_document(doc_id, chunks, store.documents()[doc_id].content_hash)


def _doc_of(store: Store, name: str) -> str:
    return next(d for d, r in store.documents().items() if r.source == name)


def test_documents_are_added_and_removed_one_at_a_time(settings, embeddings, two_documents):
    store = Store(settings)
    editorial = _doc_of(store, EDITORIAL)
    _mark(settings, store, editorial)

    shutil.copy(CORPUS / "001_a5b27a2b9793a65e.txt", two_documents)
    ingest([two_documents], settings, embeddings=embeddings, progress=False)
    index = lexical.load_index(settings, store)
    assert index.search("zzmarker", 1)[0][0] == MARKER[0]  # the earlier documents were not re-indexed
    assert len(index) == store.count() + 1 and index.fingerprint == store.fingerprint()

    iqbal = _doc_of(store, IQBAL)
    assert index.search("Barmal", 1)[0][0].startswith(iqbal)
    remove_documents([iqbal], settings, store)
    index = lexical.load_index(settings, store)
    assert index.search("Barmal", 5) == [] and index.unmentioned([], ["barmal"]) == {"barmal"}
    assert index.document_frequency("barmal") == 0
    assert index.search("zzmarker", 1)[0][0] == MARKER[0]
    assert index.fingerprint == store.fingerprint()


def test_search_keeps_to_the_allowed_documents(settings, two_documents):
    store = Store(settings)
    editorial, iqbal = _doc_of(store, EDITORIAL), _doc_of(store, IQBAL)
    index = lexical.load_index(settings, store)
    everywhere = index.search("Pakistan Afghanistan border", 50)
    assert {c.split(":")[0] for c, _ in everywhere} == {editorial, iqbal}
    only = index.search("Pakistan Afghanistan border", 50, {iqbal})
    assert only and {c.split(":")[0] for c, _ in only} == {iqbal}
    assert [c for c, _ in only] == [c for c, _ in everywhere if c.startswith(iqbal)]  # same order, same scores
    assert index.search("Pakistan", 5, set()) == []


def test_a_document_the_index_missed_before_a_kill_is_redone_alone(settings, embeddings, two_documents, tmp_path):
    """A kill after Chroma committed a document (its record written) but before the index did."""
    store = Store(settings)
    _mark(settings, store, _doc_of(store, EDITORIAL))
    new = tmp_path / "docs" / "001_a5b27a2b9793a65e.txt"
    shutil.copy(CORPUS / new.name, new)
    prepared = prepare(new, settings)
    stored = [StoredChunk(chunk_id=chunk_id(prepared.record.doc_id, c.index), doc_id=prepared.record.doc_id, text=c.text,
                          start=c.start, end=c.end, index=c.index, source=new.name, title="") for c in prepared.chunks]
    store.put_document(prepared.record, prepared.text, stored, embeddings.embed_documents([c.text for c in stored]))

    index = lexical.load_index(settings, store)
    assert index.fingerprint == store.fingerprint()
    assert index.search(prepared.chunks[0].text, 1)[0][0].startswith(doc_id_for(new))
    assert index.search("zzmarker", 1)[0][0] == MARKER[0]  # repaired in place, not rebuilt


def test_a_document_changed_in_the_store_behind_the_index_is_reindexed(settings, two_documents):
    store = Store(settings)
    iqbal = _doc_of(store, IQBAL)
    index = lexical.load_index(settings, store)
    index.replace_document(iqbal, [(f"{iqbal}:0000", "stale words only")], "an old content hash")
    assert index.search("Barmal", 1) == []
    repaired = lexical.load_index(settings, store)
    assert repaired.search("Barmal", 1)[0][0].startswith(iqbal) and repaired.search("stale", 1) == []


def test_never_mentioned_is_looked_up_in_the_index_as_the_library_text_would_say(settings, two_documents):
    """What ``missing_facts`` over every document's text said, without reading any text: names by
    their stem ("Pakistani" finds "Pakistan") or one letter off, numbers in canonical form ("4,000" is 4000)."""
    index = lexical.load_index(settings, Store(settings))
    assert index.unmentioned([], ["pakistani", "barmal", "torkham", "afghan"]) == set()
    assert index.unmentioned([], ["zimbabwe", "shehbaz"]) == {"zimbabwe", "shehbaz"}
    # a name typed one letter off is the name the library writes; a short one is not ("Iraq")
    assert index.unmentioned([], ["khurram", "torkam", "iraq"]) == {"iraq"}
    said = (CORPUS / EDITORIAL).read_text(encoding="utf-8") + (CORPUS / IQBAL).read_text(encoding="utf-8")
    from ragchat.text.facts import numbers_in

    present = sorted(numbers_in(said))[:5]
    assert present and index.unmentioned(present, []) == set()
    assert index.unmentioned(["987654321"], []) == {"987654321"}


def test_the_chunks_defining_an_abbreviation_are_found_among_those_using_it(settings, two_documents):
    """"What does TTP stand for?" needs the chunk spelling it out, which BM25 for "TTP" ranks below
    chunks that only repeat it; both spellings of the question's abbreviation find it."""
    store = Store(settings)
    index = lexical.load_index(settings, store)
    chunks = {c.chunk_id: c.text for cs in store.chunks_of(store.documents()).values() for c in cs}
    using = [c for c in chunks if "TTP" in chunks[c]]
    defining = index.defining("TTP", "what does TTP stand for", 10)
    assert len(using) > len(defining) >= 1
    assert all("Pakistan (TTP)" in chunks[c] for c in defining)
    assert index.defining("ttp", "", 10) == defining and index.defining("T.T.P.", "", 10) == defining
    assert index.defining("TTP", "", 10, allowed_docs={_doc_of(store, EDITORIAL)}) == []
    assert index.defining("ZZQX", "", 10) == []


# -- damage: every state either rebuilds from the store or fails in one line naming the folder ------
def _segment_files(path):
    return [p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "ragchat", "meta"))]


def _damage(path, how: str) -> None:
    if how == "missing":
        shutil.rmtree(path)
    elif how == "empty_folder":
        shutil.rmtree(path)
        path.mkdir()
    elif how == "garbage_files":
        for child in _segment_files(path):
            child.write_bytes(b"\x00garbage")
    elif how == "truncated_files":
        for child in _segment_files(path):
            child.write_bytes(child.read_bytes()[: child.stat().st_size // 2])
    elif how == "garbage_meta":
        (path / "meta.json").write_bytes(b"{\"segments\": [tru")
    elif how == "empty_meta":
        (path / "meta.json").write_bytes(b"")
    elif how == "a_file_in_its_place":
        shutil.rmtree(path)
        path.write_text("not an index")
    elif how == "other_version":
        (path / "ragchat-version").write_text("0")
    elif how == "garbage_version":
        (path / "ragchat-version").write_bytes(b"\xff\xfe\x00 \n\n 2 2")
    elif how == "version_is_a_folder":
        (path / "ragchat-version").unlink()
        (path / "ragchat-version").mkdir()


@pytest.mark.parametrize("damage", ["missing", "empty_folder", "garbage_files", "truncated_files", "garbage_meta",
                                    "empty_meta", "a_file_in_its_place", "other_version", "garbage_version",
                                    "version_is_a_folder"])
def test_a_missing_or_damaged_index_is_rebuilt_with_one_line_naming_it(settings, two_documents, capsys, damage):
    store = Store(settings)
    path = lexical.index_path(settings)
    _damage(path, damage)
    capsys.readouterr()

    index = lexical.load_index(settings, store)
    assert index.search("Barmal", 1)[0][0].startswith(_doc_of(store, IQBAL))
    assert index.fingerprint == store.fingerprint() and len(index) == store.count()
    said = capsys.readouterr().err.strip().splitlines()
    if damage == "missing":
        assert said == []
    else:
        assert len(said) == 1 and str(path) in said[0] and "rebuilding" in said[0]


def test_wrong_shaped_document_stamps_are_reindexed_from_the_store(settings, two_documents):
    """A stamp that is no content hash (empty, or another document's) makes only that document stale."""
    store = Store(settings)
    editorial, iqbal = _doc_of(store, EDITORIAL), _doc_of(store, IQBAL)
    _mark(settings, store, editorial)
    index = lexical.load_index(settings, store)
    index.replace_document(iqbal, [(f"{iqbal}:0000", "stale words only")], "")
    index.replace_document("no-such-document", [("no-such-document:0000", "ghost words")], "\x00 not a hash \n")
    repaired = lexical.load_index(settings, store)
    assert repaired.fingerprint == store.fingerprint()
    assert repaired.search("Barmal", 1)[0][0].startswith(iqbal) and repaired.search("ghost stale", 5) == []
    assert repaired.search("zzmarker", 1)[0][0] == MARKER[0]  # the editorial's entry was left alone


def test_damage_found_while_answering_is_one_line_naming_the_folder(settings, two_documents):
    """Files damaged under an open index: the next read fails with the folder and the fix, not a traceback."""
    store = Store(settings)
    path = lexical.index_path(settings)
    index = lexical.load_index(settings, store)
    for child in _segment_files(path):
        # Overwritten in place, never truncated: the open index maps these files, and a mapped page
        # past a truncated file's end is a bus error that kills the process, not a read error.
        with child.open("r+b") as damaged:
            damaged.write(b"\x00" * child.stat().st_size)
    with pytest.raises(lexical.LexicalIndexError) as caught:
        for term in ("barmal", "torkham", "pakistan", "border", "attack"):
            lexical.LexicalIndex(path).search(term, 5)
            index.search(term, 5)
            index.refresh()
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and ("delete it" in message or "rebuil" in message)


_WRITER = """
import sys
from pathlib import Path
from ragchat.settings import Settings
from vectorstore import lexical
from vectorstore.store import Store
settings = Settings().replace(data_dir=Path(sys.argv[1]))
index = lexical.load_index(settings, Store(settings))
for round in range(int(sys.argv[2])):
    index.replace_document("churn", [(f"churn:{i:04d}", f"zzchurn round {round} Barmal Torkham") for i in range(20)], "x")
    index.remove_document("churn")
print("done")
"""


def test_twenty_threads_read_while_another_process_writes(settings, two_documents):
    """The app's sessions search at once while `ragchat ingest` commits in another process: no reader fails."""
    store = Store(settings)
    iqbal = _doc_of(store, IQBAL)
    index = lexical.load_index(settings, store)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(settings.data_dir), "40"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    failures: list[BaseException] = []
    results: list[str] = []
    start = threading.Barrier(20)

    def ask() -> None:
        try:
            start.wait()
            while writer.poll() is None:
                index.refresh()
                results.append(index.search("Barmal", 1)[0][0])
                index.unmentioned(["789"], ["torkham"])
                index.idf("barmal")
            results.append(index.search("Barmal", 1)[0][0])
        except BaseException as exc:  # noqa: BLE001 - any failure of a reader is what this test looks for
            failures.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0 and out.strip() == "done", err[-2000:]
    assert not failures, failures[:3]
    assert results and all(r.startswith(iqbal) or r.startswith("churn") for r in results)
    index.refresh()
    assert index.search("zzchurn", 5) == [] and index.fingerprint == store.fingerprint()


def test_twenty_threads_ask_while_another_process_ingests(settings, two_documents):
    """The app's sessions asking at once while `ragchat ingest` adds a document in another process:
    every question is answered (or refused) normally, and the same open library then sees the new document."""
    from ragchat.library import Library

    library = Library(settings)
    library.ask("What happened in Barmal?")  # opened once, as the app does before its sessions ask
    shutil.copy(CORPUS / "001_a5b27a2b9793a65e.txt", two_documents)
    writer = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "ingest", str(two_documents)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "RAGCHAT_DATA_DIR": str(settings.data_dir)})
    failures: list[BaseException] = []
    answered: list[str] = []
    start = threading.Barrier(20)
    questions = ["What happened in Barmal?", "Which border crossing had been closed?", "Who is Taut Bataut?"]

    def ask(n: int) -> None:
        try:
            start.wait()
            while writer.poll() is None:
                answered.append(library.ask(questions[n % len(questions)]).answer)
        except BaseException as exc:  # noqa: BLE001 - any failure of a reader is what this test looks for
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-2000:]
    assert not failures, failures[:3]
    assert answered and all(answered)
    after = library.ask("What did Taut Bataut write about?")
    assert "001_a5b27a2b9793a65e.txt" in {p.source for p in after.retrieved}


def test_a_name_is_found_whether_or_not_it_is_typed_with_its_accents(settings, tmp_path):
    index = lexical.LexicalIndex(tmp_path / "index")
    index.replace_document("d1", [("d1:0000", "The album's lead single Déjà Vu featured Jay Z.")], "stamp")
    assert index.unmentioned([], ["deja", "déjà"]) == set()
    assert index.search("Deja Vu", 1)[0][0] == "d1:0000"
