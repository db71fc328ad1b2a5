"""Hostile and unusual files as a user (or an attacker) hands them over: each is skipped with a
reason or read faithfully, and never stops, starves or fools the rest of the run.

The files come from ``evals/hostile.py``, at sizes a test can afford; the limits are lowered
through ``Settings`` where a full-size file would only cost time. ``python -m evals.hostile``
runs the full-size cases through the real command and prints their memory and time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
from docx.oxml import OxmlElement
import pytest

from evals import hostile
from ingest import wordpieces
from ingest.chunking import VERSION, chunk_text
from ingest.pipeline import ingest
from ingest.uploads import add_files
from ragchat.text.display import printable
from vectorstore.store import Store

from tests.conftest import CORPUS, ROOT

GOOD = CORPUS / "004_7c390ca7a747a0fa.txt"


def _folder_with_good_file(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(GOOD, folder / "good.txt")
    return folder


def _ingest(folder: Path, settings, embeddings, **options) -> tuple[object, dict[str, str]]:
    lines: list[tuple[str, str]] = []
    report = ingest([folder], settings, embeddings=embeddings, progress=False,
                    on_error=lambda path, reason: lines.append((path, reason)), **options)
    return report, {Path(path).name: reason for path, reason in lines}


# -- one bad file never stops the run ----------------------------------------------------------------

def test_a_docx_with_a_10_mb_text_node_is_skipped_and_the_rest_is_ingested(settings, tmp_path, embeddings):
    folder = _folder_with_good_file(tmp_path)
    hostile.docx_text_node(folder / "node.docx")
    report, reasons = _ingest(folder, settings, embeddings)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert reasons["node.docx"].startswith("corrupt .docx (") and "\n" not in reasons["node.docx"]


def test_a_docx_zip_bomb_is_refused_from_its_declared_size(settings, tmp_path, embeddings):
    folder = _folder_with_good_file(tmp_path)
    bomb = hostile.docx_bomb(folder / "bomb.docx", megabytes=30)
    assert bomb.stat().st_size < 1_000_000  # a small file that unpacks to 30 MB
    report, reasons = _ingest(folder, settings.replace(max_unpacked_mb=10), embeddings)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert re.fullmatch(r"unpacks to 30\.\d MB of document XML, over the 10 MB limit "
                        r"\(raise RAGCHAT_MAX_UNPACKED_MB to read it\)", reasons["bomb.docx"])


def test_the_docx_bomb_is_refused_by_the_upload_and_not_kept(settings, tmp_path):
    bomb = hostile.docx_bomb(tmp_path / "bomb.docx", megabytes=30)
    added, refused = add_files([("bomb.docx", bomb.read_bytes())], settings.replace(max_unpacked_mb=10))
    assert added == [] and refused[0][0] == "bomb.docx" and "RAGCHAT_MAX_UNPACKED_MB" in refused[0][1]
    assert list((settings.data_dir / "uploads").iterdir()) == []


def test_files_over_the_size_text_and_page_limits_say_which_limit(settings, tmp_path, embeddings):
    folder = _folder_with_good_file(tmp_path)
    hostile.huge_text(folder / "huge.txt", megabytes=3)
    (folder / "long.md").write_text("A sentence about Kabul. " * 2_000, encoding="utf-8")
    hostile.many_pages_pdf(folder / "long.pdf", pages=4)
    limited = settings.replace(max_file_mb=2, max_text_chars=40_000, max_pdf_pages=3)
    report, reasons = _ingest(folder, limited, embeddings)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert reasons["huge.txt"] == "file is 3.0 MB, over the 2 MB limit (raise RAGCHAT_MAX_FILE_MB to read it)"
    assert reasons["long.md"] == "text is over the 40,000-character limit (raise RAGCHAT_MAX_TEXT_CHARS to read it)"
    assert reasons["long.pdf"] == "PDF has 4 pages, over the 3-page limit (raise RAGCHAT_MAX_PDF_PAGES to read it)"


def test_dense_html_is_read_as_a_stream_of_its_visible_text(settings, tmp_path, embeddings):
    folder = _folder_with_good_file(tmp_path)
    hostile.dense_html(folder / "dense.html", megabytes=1)
    report, reasons = _ingest(folder, settings.replace(max_text_chars=100_000), embeddings)
    assert reasons["dense.html"].startswith("text is over the 100,000-character limit")
    assert [Path(p).name for p in report.added] == ["good.txt"]


# -- chunking: linear in the text, and every chunk fits the embedding model ----------------------------

@pytest.mark.parametrize("text", [
    "a\n" * 200_000,  # took 26 s to prepare before; a million such lines, 11 minutes to ingest
    "x" * 1_000_000,  # one line without spaces: cut at every few tokens, re-encoding the rest each time
    "A. " * 50_000,  # one "sentence" of initials: no sentence end is ever found
], ids=["200k-one-char-lines", "1mb-without-spaces", "initials"])
def test_hostile_texts_are_chunked_into_exact_slices_that_fit_the_model(text):
    pieces = wordpieces.for_model("all-MiniLM-L6-v2")
    chunks = chunk_text(text.strip())
    assert chunks and all(text[c.start:c.end] == c.text for c in chunks)
    assert all(pieces.count(c.text) == c.tokens <= 250 for c in chunks)
    assert all(len(c.text) <= 250 * 16 for c in chunks)  # a line of [UNK]s still makes readable chunks
    assert chunks[0].start == 0 and chunks[-1].end == len(text.strip())
    assert all(not text[a.end:b.start].strip() for a, b in zip(chunks, chunks[1:]))  # nothing left out


def test_no_bundled_chunk_is_longer_than_the_embedding_model_reads(corpus_settings):
    pieces = wordpieces.for_model("all-MiniLM-L6-v2")
    assert pieces.max_input == 256
    lengths = [len(pieces.tokenizer.encode(c.text)) for c in Store(corpus_settings).all_chunks()]
    assert len(lengths) > 50 and max(lengths) <= 256  # special tokens included, as the model counts


def test_a_store_chunked_another_way_is_rechunked_with_a_message(settings, corpus_copy, embeddings, capsys):
    files = [corpus_copy / "004_7c390ca7a747a0fa.txt", corpus_copy / "001_a5b27a2b9793a65e.txt"]
    ingest(files, settings.replace(chunk_tokens=120), embeddings=embeddings, progress=False)
    capsys.readouterr()
    report = ingest(files, settings, embeddings=embeddings, progress=False)
    assert len(report.updated) == 2
    assert re.search(rf"re-chunking 2 documents: chunking changed \(was v{VERSION}: up to 120 wordpieces of "
                     rf"all-MiniLM-L6-v2.*; now v{VERSION}: up to 250 ", capsys.readouterr().err)

    # A store from before chunking was recorded: its records carry no chunking at all.
    store = Store(settings)
    record = next(r for r in store.documents().values() if r.source == files[0].name)
    old = {k: v for k, v in json.loads(store.docs.get(ids=[record.doc_id])["metadatas"][0]["record"]).items()
           if k != "chunking"} | {"content_hash": "hashed-with-tiktoken-settings"}
    store.docs.update(ids=[record.doc_id], metadatas=[{"record": json.dumps(old), "source": record.source}])
    again = ingest(files, settings, embeddings=embeddings, progress=False)
    assert len(again.unchanged) == 1 and len(again.updated) == 1
    assert f"re-chunking 1 document: chunking changed (was v1: tiktoken tokens; now v{VERSION}" in capsys.readouterr().err


# -- links and hidden files ------------------------------------------------------------------------

def test_links_and_hidden_files_are_passed_over_with_a_line_each(settings, tmp_path, embeddings):
    folder = hostile.links_and_hidden(_folder_with_good_file(tmp_path))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private.txt").write_text("The private note mentions Chaman.\n", encoding="utf-8")
    (folder / "private.txt").symlink_to(outside / "private.txt")
    (folder / "good-again.txt").symlink_to(folder / "good.txt")

    report, reasons = _ingest(folder, settings, embeddings)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert reasons == {
        ".git": "hidden folder", ".secret.txt": "hidden file", "loop": "link loop",
        "self.txt": "broken link or link loop", "gone.txt": "broken link or link loop",
        "hostname.txt": "link to /etc/hostname, outside the given folders (--follow-links reads it)",
        "private.txt": f"link to {outside / 'private.txt'}, outside the given folders (--follow-links reads it)",
        "good-again.txt": f"link to {(folder / 'good.txt').resolve()}, read where it stands",
    }
    assert report.failed == [] and "8 not followed (hidden or links)" in report.summary()
    assert {d.source for d in Store(settings).documents().values()} == {"good.txt"}

    followed, _ = _ingest(folder, settings, embeddings, follow_links=True)
    assert sorted(Path(p).name for p in followed.added) == ["hostname.txt", "private.txt"]


# -- output that cannot be forged ----------------------------------------------------------------------

def test_printable_shows_control_characters_as_escapes():
    assert printable("evil\x1b]0;pwned\x07\x1b[31m.pdf") == "evil\\x1b]0;pwned\\x07\\x1b[31m.pdf"
    assert printable("FAKE.txt\nskipped good.txt\r") == "FAKE.txt\\nskipped good.txt\\r"
    assert printable("\u202etxt.exe \x9b2J") == "\\u202etxt.exe \\x9b2J"
    assert printable("تقرير – Café.txt") == "تقرير – Café.txt"
    assert printable("two\nlines\x1b", keep_newlines=True) == "two\nlines\\x1b"


def test_cli_lines_escape_names_that_hold_escapes_or_newlines(settings, tmp_path):
    folder = hostile.forged_names(_folder_with_good_file(tmp_path))
    run = subprocess.run([sys.executable, "-m", "ragchat.cli", "ingest", str(folder)], cwd=ROOT, capture_output=True,
                         env={**os.environ, "RAGCHAT_DATA_DIR": str(settings.data_dir)}, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr
    skip_lines = [line for line in run.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skip_lines) == 2 and all(": corrupt PDF" in line for line in skip_lines)
    assert any("evil\\x1b]0;pwned\\x07\\x1b[31mred.pdf: corrupt PDF" in line for line in skip_lines)
    assert any("FAKE.txt\\nskipped good.txt: forged line.pdf: corrupt PDF" in line for line in skip_lines)


# -- uploads never replace each other -------------------------------------------------------------------

def test_uploads_whose_names_differ_only_in_unusual_letters_are_all_kept(settings):
    files = [("тест.txt", b"The Torkham crossing reopened in March.\n"),
             ("تقرير.txt", b"The Chaman crossing stayed closed.\n"),
             ("a b.txt", b"Kurram saw clashes in July.\n"),
             ("a!b.txt", b"Bajaur saw an operation in August.\n"),
             ("a b.txt", b"Kurram saw clashes in July.\n")]  # the same upload again is the same file
    added, refused = add_files(files, settings)
    assert refused == [] and added == ["тест.txt", "تقرير.txt", "a_b.txt", "a_b-2.txt", "a_b.txt"]  # as stored
    kept = {p.name: p.read_bytes() for p in (settings.data_dir / "uploads").iterdir()}
    assert kept == {"тест.txt": files[0][1], "تقرير.txt": files[1][1], "a_b.txt": files[2][1], "a_b-2.txt": files[3][1]}
    assert len(Store(settings).documents()) == 4


# -- documents read faithfully ---------------------------------------------------------------------------

def test_a_docx_table_stays_where_it_stands_its_rows_labelled_by_its_header(settings, tmp_path, embeddings):
    document = docx.Document()
    document.add_heading("Crossings", level=1)
    document.add_paragraph("Two crossings matter most.")
    table = document.add_table(rows=4, cols=3)
    title = table.cell(0, 0).merge(table.cell(0, 2))  # a title across the columns heads nothing
    title.text = "Table 1"
    for row, cells in enumerate([["Crossing", "Trucks a day", "Days closed"], ["Torkham", "1,200", "47"],
                                 ["Chaman", "800", "83"]], start=1):
        for col, text in enumerate(cells):
            table.cell(row, col).text = text
    table.rows[2]._tr.addnext(OxmlElement("w:bookmarkStart"))  # markup between rows starts no new table
    facts = document.add_table(rows=2, cols=2)  # two columns, no header row: a fact sheet
    for (row, col), text in {(0, 0): "Source", (0, 1): "UNHCR", (1, 0): "Updated", (1, 1): "March 2024"}.items():
        facts.cell(row, col).text = text
    document.add_heading("Trade", level=1)
    document.add_paragraph("Trade fell after the closures.")
    folder = tmp_path / "docs"
    folder.mkdir()
    document.save(str(folder / "crossings.docx"))

    ingest([folder], settings, embeddings=embeddings, progress=False)
    store = Store(settings)
    (record,) = store.documents().values()
    assert store.document_text(record.doc_id) == (
        "# Crossings\n\nTwo crossings matter most.\n\nTable 1\n\nCrossing: Torkham; Trucks a day: 1,200; Days closed: 47.\n\n"
        "Crossing: Chaman; Trucks a day: 800; Days closed: 83.\n\nSource: UNHCR.\n\nUpdated: March 2024.\n\n"
        "# Trade\n\nTrade fell after the closures.")
    table_chunk = next(c for c in store.all_chunks() if "Crossing: Torkham; Trucks a day: 1,200" in c.text)
    assert table_chunk.heading == "Crossings"


def test_windows_1252_and_latin_1_text_is_read_and_binary_is_still_refused(settings, tmp_path, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    hostile.cp1252_text(folder / "cp1252.txt")
    (folder / "latin1.txt").write_bytes("Caf\xe9 in Peshawar".encode("latin-1"))
    # short German: charset-normalizer alone scores the Baltic cp775 best ("Grenz³bergõnge")
    (folder / "german.txt").write_bytes("Die Grenzübergänge sind für Händler geschlossen.".encode("latin-1"))
    (folder / "polish.txt").write_bytes("Zażółć gęślą jaźń. Pójdźże, kiń tę chmurność w głąb flaszy!".encode("cp1250"))
    (folder / "binary.txt").write_bytes(bytes(range(1, 256)) * 40)
    report, reasons = _ingest(folder, settings, embeddings)
    assert sorted(Path(p).name for p in report.added) == ["cp1252.txt", "german.txt", "latin1.txt", "polish.txt"]
    assert reasons == {"binary.txt": "binary content, not text"}
    texts = {r.source: Store(settings).document_text(r.doc_id) for r in Store(settings).documents().values()}
    assert texts["cp1252.txt"] == "Café talks in Peshawar: a naïve “résumé” – coöperation."
    assert texts["latin1.txt"] == "Café in Peshawar"
    assert texts["german.txt"] == "Die Grenzübergänge sind für Händler geschlossen."
    assert texts["polish.txt"] == "Zażółć gęślą jaźń. Pójdźże, kiń tę chmurność w głąb flaszy!"  # its own code page still
