"""squad2-train10, the second corpus: where its files are, how its articles split, how it is sampled.

Ten Wikipedia articles with SQuAD 2.0 questions (CC BY-SA 4.0, see the dataset's README). The
articles alternate between a "fit" half, which ``evals.fit`` and ``evals.train_reader`` learn
from (on disjoint questions), and a "held-out" half that nothing is fitted on and ``ragchat eval``
measures. Both learners import the split from here so they cannot disagree about it.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from evals.questions import Question, load_questions

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT / "evals" / "datasets" / "squad2-train10"
QUESTIONS = SQUAD / "questions.jsonl"
HELDOUT = SQUAD / "heldout-1000.jsonl"
HELDOUT_EVAL = SQUAD / "heldout-500.jsonl"  # half of it, for `ragchat eval` on two busy cores
HELDOUT_QUICK = SQUAD / "heldout-150.jsonl"  # a stratified 150 of those, for `ragchat eval` on a loaded machine
HELDOUT_SIZE = 1000  # questions of the held-out articles that `ragchat eval` measures on
FIT_SIZE = 1200  # questions of the fit articles the chooser learns from: every unanswerable one, the answerable ones sampled

_ARTICLE_OF: dict[str, str] = {}


def load_squad() -> list[Question]:
    """Every question, each known to its article (unanswerable ones list no source)."""
    questions = load_questions(QUESTIONS)
    current = ""
    for q in questions:  # the dataset keeps unanswerable questions next to their article's questions
        current = q.sources[0] if q.sources else current
        _ARTICLE_OF[q.id] = current
    return questions


def article_of(q: Question) -> str:
    return q.sources[0] if q.sources else _ARTICLE_OF.get(q.id, "")


def squad_split() -> tuple[list[str], list[str]]:
    """Articles alternate between the fit half and the held-out half (sorted by name)."""
    articles = sorted(p.name for p in (SQUAD / "corpus").glob("*.txt"))
    return articles[0::2], articles[1::2]


def stratified(questions: Sequence[Question], articles: Sequence[str], size: int, *, seed: int = 0,
               all_unanswerable: bool = False) -> list[Question]:
    """A sample of the articles' questions, stratified by article and answerability.

    ``all_unanswerable`` keeps every unanswerable question (they are few, and they are what
    teaches refusing) and samples the answerable ones to fill ``size``.
    """
    groups: dict[tuple[str, bool], list[Question]] = defaultdict(list)
    for q in questions:
        if article_of(q) in articles:
            groups[(article_of(q), q.answerable)].append(q)
    kept = [q for (_, answerable), g in groups.items() if all_unanswerable and not answerable for q in g]
    pool = {key: g for key, g in groups.items() if not (all_unanswerable and not key[1])}
    total = sum(len(g) for g in pool.values())
    rng = random.Random(seed)
    chosen = list(kept)
    for key in sorted(pool):
        group = pool[key]
        chosen.extend(rng.sample(group, min(len(group), round((size - len(kept)) * len(group) / total))))
    return sorted(chosen, key=lambda q: q.id)


def chooser_sample(questions: Sequence[Question]) -> list[Question]:
    """The fit-half questions ``evals.fit`` learns from; ``evals.train_reader`` takes the others."""
    return stratified(questions, squad_split()[0], FIT_SIZE, all_unanswerable=True)


def write_questions(questions: Sequence[Question], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for q in questions:
            row = {"id": q.id, "question": q.question, "answerable": q.answerable, "type": q.type,
                   "sources": list(q.sources), "must": [list(g) for g in q.must]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
