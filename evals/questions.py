"""Question files: the format evaluators write (docs/evaluation.md) and the bundled set.

The one place that reads a question file, so the evaluator, the benchmarks, the fitting commands
and the app's Evaluation page agree on what a question is and reject a bad file the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answerable: bool
    type: str  # optional in the file: derived from answerable/follows when absent
    sources: tuple[str, ...]  # gold file names
    must: tuple[tuple[str, ...], ...]  # correct = one string of every group, case-insensitive
    reference: str = ""
    follows: str = ""  # id of the question this one follows up


_FIELDS: dict[str, Callable[[object], bool]] = {
    "id": lambda v: isinstance(v, str) and bool(v),
    "question": lambda v: isinstance(v, str) and bool(v.strip()),
    "answerable": lambda v: isinstance(v, bool),
    "sources": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
    "must": lambda v: isinstance(v, list) and all(isinstance(g, list) and g and all(isinstance(s, str) for s in g) for g in v),
}
_OPTIONAL: dict[str, Callable[[object], bool]] = {
    "type": lambda v: isinstance(v, str) and bool(v),
    "reference": lambda v: isinstance(v, str),
    "follows": lambda v: isinstance(v, str),
}


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """Parse questions.jsonl; a bad line raises ValueError naming the file, line and field."""
    questions: list[Question] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object")
        for name, valid in _FIELDS.items():
            if name not in row:
                raise ValueError(f"{path}:{number}: field {name!r} is missing")
            if not valid(row[name]):
                raise ValueError(f"{path}:{number}: field {name!r} has an invalid value {row[name]!r}")
        for name, valid in _OPTIONAL.items():
            if name in row and row[name] is not None and not valid(row[name]):
                raise ValueError(f"{path}:{number}: field {name!r} has an invalid value {row[name]!r}")
        follows = row.get("follows") or ""
        if follows and follows not in {q.id for q in questions}:
            raise ValueError(f"{path}:{number}: field 'follows' names {follows!r}, which no earlier question has")
        questions.append(Question(id=row["id"], question=row["question"], answerable=row["answerable"], type=row.get("type") or _default_type(row),
                                  sources=tuple(row["sources"]), must=tuple(tuple(g) for g in row["must"]),
                                  reference=row.get("reference") or "", follows=follows))
    return questions


def _default_type(row: dict) -> str:
    if not row["answerable"]:
        return "unanswerable"
    return "followup" if row.get("follows") else "question"
