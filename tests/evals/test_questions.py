"""Question files as evaluators write them: the bundled set loads, a bad line is named, optional fields are optional."""

from __future__ import annotations

import json

import pytest

from evals.questions import load_questions


def test_bundled_questions_load_and_a_bad_line_is_named(tmp_path):
    assert len(load_questions()) == 76
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q?", "answerable": "yes", "type": "t", "sources": [],
                               "must": [], "reference": ""}) + "\n")
    with pytest.raises(ValueError, match=r"q\.jsonl:1: field 'answerable'"):
        load_questions(bad)


def test_a_users_question_file_needs_only_the_required_fields(tmp_path):
    own = tmp_path / "mine.jsonl"
    rows = [{"id": "a", "question": "Who?", "answerable": True, "sources": ["x.txt"], "must": [["Sam"]]},
            {"id": "b", "question": "And when?", "answerable": True, "sources": ["x.txt"], "must": [["2024"]], "follows": "a"},
            {"id": "c", "question": "Why?", "answerable": False, "sources": [], "must": []}]
    own.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    loaded = load_questions(own)
    assert [(q.type, q.reference, q.follows) for q in loaded] == [("question", "", ""), ("followup", "", "a"), ("unanswerable", "", "")]
