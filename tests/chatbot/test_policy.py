"""Refusing on a fact no document mentions: said of the whole library, looked up in the lexical index,
and kept true as the library changes."""

from __future__ import annotations

from ingest.pipeline import ingest
from ragchat.library import Library

QUESTION = "How many terrorist attacks did Pakistan record in 2025?"  # the bundled documents stop at 2024


def test_never_mentioned_is_said_only_while_no_document_mentions_it(settings, corpus_copy, embeddings):
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    assert "refused: the documents never mention 2025" in library.ask(QUESTION).notices

    # One document that names 2025 in passing: the fact is no longer absent from the library, so that
    # reason is not given any more (the same open library sees the ingest through the index).
    (corpus_copy / "zz_calendar.txt").write_text(
        "Planning calendar\n\nThe ministry said its next planning cycle starts in the spring of 2025.\n", encoding="utf-8")
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    notices = library.ask(QUESTION).notices
    assert not any("never mention" in n for n in notices), notices


def test_a_name_typed_without_its_accents_is_the_same_name(settings, tmp_path, embeddings):
    """Users type "Dereon" for "Deréon": the library mentions it, so it is no reason to refuse."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "label.txt").write_text(
        "Maison Deréon\n\nMaison Deréon is a clothing label. The designer Tina Arnaud founded Maison Deréon in 2005 "
        "in Houston. Its first collection sold in department stores across Texas.\n", encoding="utf-8")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    answer = Library(settings).ask("When did Tina Arnaud found Maison Dereon?")
    assert not any("never mention" in n for n in answer.notices), answer.notices
    assert not answer.abstained and "2005" in answer.answer
