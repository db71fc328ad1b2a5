"""Uploads as the app and the API take them: checked, saved under names that cannot escape, ingested."""

from __future__ import annotations

import pytest

from ingest.uploads import safe_filename, upload_problem
from ragchat.library import Library
from vectorstore.store import Store


def test_uploads_are_ingested_under_safe_names_and_bad_files_say_why(settings):
    text = b"The Khyber Pass links Peshawar with Jalalabad. Traders have used it for centuries.\n"
    too_big = b"x" * (settings.ingest.upload_max_mb * 1_000_000 + 1)
    result = Library(settings).add_files([("../../My notes <1>.txt", text), ("tool.exe", b"MZ"), ("blank.md", b""),
                                          ("bytes.txt", b"\x00\x01\x02 binary"), ("huge.txt", too_big)])
    added, refused = result.added, result.refused
    assert added == ["My_notes_1.txt"]  # as stored and listed: the name to delete it by
    reasons = dict(refused)
    assert reasons["tool.exe"].startswith("unsupported type .exe")
    assert reasons["blank.md"] == "empty file"
    assert reasons["bytes.txt"] == "binary content, not text"
    assert reasons["huge.txt"].startswith("too large")
    assert sorted(p.name for p in (settings.data_dir / "uploads").iterdir()) == ["My_notes_1.txt"]
    assert [d.source for d in Store(settings).documents().values()] == ["My_notes_1.txt"]


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\report.PDF", "report.pdf"),
    (".hidden.txt", "hidden.txt"),
    ("my report (final) <v2>.docx", "my_report_final_v2.docx"),
    ("....", "upload"),
])
def test_upload_names_cannot_escape_or_hide(name, safe):
    assert safe_filename(name) == safe


def test_upload_limits_give_a_reason():
    allowed = (".txt", ".pdf")
    assert upload_problem("a.exe", 10, allowed, 1000).startswith("unsupported type .exe")
    assert upload_problem("a.pdf", 5_000_000, allowed, 1_000_000).startswith("too large (5.0 MB")
    assert upload_problem("a.txt", 0, allowed, 1000) == "empty file"
    assert upload_problem("a.TXT", 10, allowed, 1000) == ""


def test_deleting_an_upload_removes_its_saved_copy_but_never_a_users_own_file(settings, tmp_path):
    library = Library(settings)
    own = tmp_path / "mine" / "field notes.txt"
    own.parent.mkdir()
    own.write_text("The Torkham crossing reopened after nine days of closure.\n", encoding="utf-8")
    library.ingest([own.parent])
    library.add_files([("uploaded.txt", b"The Chaman crossing stayed shut for three weeks.\n")])
    assert (settings.data_dir / "uploads" / "uploaded.txt").exists()
    library.delete_document("uploaded.txt")
    library.delete_document("field notes.txt")
    assert not (settings.data_dir / "uploads" / "uploaded.txt").exists()
    assert own.exists()  # only the library's entry is deleted
    assert Store(settings).documents() == {}
