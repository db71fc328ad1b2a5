"""Question files as evaluators write them: the bundled sets load and can be answered from their
sources, a bad line is named, optional fields are optional."""

from __future__ import annotations

import json
import re

import pytest

from evals.questions import QUESTIONS, load_questions
from ingest.pipeline import prepare
from ragchat.settings import Settings
from tests.conftest import CORPUS

FRESH = QUESTIONS.with_name("questions-fresh.jsonl")
WATER = QUESTIONS.parent / "datasets" / "water-utility"
TRANSIT = QUESTIONS.parent / "datasets" / "transit-authority"


def test_bundled_questions_load_and_a_bad_line_is_named(tmp_path):
    assert len(load_questions()) == 76
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q?", "answerable": "yes", "type": "t", "sources": [],
                               "must": [], "reference": ""}) + "\n")
    with pytest.raises(ValueError, match=r"q\.jsonl:1: field 'answerable'"):
        load_questions(bad)


@pytest.mark.parametrize("path, corpus", [(QUESTIONS, CORPUS), (FRESH, CORPUS), (WATER / "questions.jsonl", WATER / "corpus"),
                                          (TRANSIT / "questions.jsonl", TRANSIT / "corpus")],
                         ids=["bundled", "fresh", "water-utility", "transit-authority"])
def test_every_answer_key_is_in_the_stored_text_of_its_sources(path, corpus):
    """A key the stored text lacks ("15th August" while the file says "15<sup>th</sup> August") makes a
    question no answer can pass; each group of keys must be found, as a whole word, in a source's
    text as ingest stores it (PDF, DOCX and HTML included)."""
    stored = {}
    for q in [q for q in load_questions(path) if q.answerable]:
        texts = [stored.setdefault(s, prepare(corpus / s, Settings()).text.lower()) for s in q.sources]
        for group in q.must:
            assert any(re.search(rf"(?<!\w){re.escape(key.lower())}(?!\w)", t) for key in group for t in texts), (q.id, group)


def test_a_users_question_file_needs_only_the_required_fields(tmp_path):
    own = tmp_path / "mine.jsonl"
    rows = [{"id": "a", "question": "Who?", "answerable": True, "sources": ["x.txt"], "must": [["Sam"]]},
            {"id": "b", "question": "And when?", "answerable": True, "sources": ["x.txt"], "must": [["2024"]], "follows": "a"},
            {"id": "c", "question": "Why?", "answerable": False, "sources": [], "must": []}]
    own.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    loaded = load_questions(own)
    assert [(q.type, q.reference, q.follows) for q in loaded] == [("question", "", ""), ("followup", "", "a"), ("unanswerable", "", "")]
