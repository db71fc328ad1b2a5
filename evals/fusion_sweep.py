"""How fusion and context size change retrieval, on both corpora: the lexical list's weight and the
RRF constant in reciprocal-rank fusion, the chunks handed over and how many of them one document may give.

    python -m evals.fusion_sweep --weights 1,1.5,2 --rrf-k 60 [--squad-questions 800]
    python -m evals.fusion_sweep --weights 1 --rrf-k 5 --top-k 6,8,10 --per-document 4,6

Ingests each corpus into ``evals/out/fusion/<corpus>`` (only what changed) and prints, per setting,
how often the passages handed over hold a gold answer string, the gold document's MRR, and the
characters handed over (what the answerer must read: its cost). A default stays unless a change
helps on the corpus it was not chosen on (docs/retrieval.md).
"""

from __future__ import annotations

import argparse
import itertools
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from evals.keys import context_holds_answer
from evals.questions import QUESTIONS, Question, load_questions
from evals.squad import SQUAD
from ingest.pipeline import ingest
from ragchat.settings import Settings
from vectorstore.retrieval import open_retriever

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evals" / "out" / "fusion"
_DEFAULTS = Settings().retrieval


@dataclass(frozen=True)
class Setting:
    bm25_weight: float
    rrf_k: int
    top_k: int
    max_per_document: int


def score(store: Path, questions: list[Question], setting: Setting) -> tuple[float, float, float]:
    """(context holds the answer, gold-document MRR, characters handed over) per answerable, standalone question."""
    retriever = open_retriever(Settings().replace(data_dir=store, **asdict(setting)))
    held = reciprocal = chars = 0.0
    for q in questions:
        passages = retriever.retrieve(q.question).passages
        held += context_holds_answer([p.text for p in passages], q.must)
        chars += sum(len(p.text) for p in passages)
        ranks = [i for i, p in enumerate(passages) if p.source in q.sources]
        reciprocal += 1 / (ranks[0] + 1) if ranks else 0.0
    return held / len(questions), reciprocal / len(questions), chars / len(questions)


def _listed(text: str, kind: type) -> list:
    return [kind(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="1,1.5,2", help="BM25 weights to try, comma-separated")
    parser.add_argument("--rrf-k", default="60", help="RRF constants to try, comma-separated")
    parser.add_argument("--top-k", default=str(_DEFAULTS.top_k), help="chunks handed over, comma-separated")
    parser.add_argument("--per-document", default=str(_DEFAULTS.max_per_document),
                        help="most passages one document gives, comma-separated")
    parser.add_argument("--squad-questions", type=int, default=800, help="answerable SQuAD questions (seeded sample)")
    args = parser.parse_args()
    squad = [q for q in load_questions(SQUAD / "questions.jsonl") if q.answerable]
    random.Random(11).shuffle(squad)
    corpora = {"bundled": (ROOT / "data" / "corpus", [q for q in load_questions(QUESTIONS) if q.answerable and not q.follows]),
               "squad2-train10": (SQUAD / "corpus", squad[:args.squad_questions])}
    for name, (documents, questions) in corpora.items():
        store = OUT / name
        ingest([documents], Settings().replace(data_dir=store), progress=False)
        for setting in itertools.starmap(Setting, itertools.product(
                _listed(args.weights, float), _listed(args.rrf_k, int), _listed(args.top_k, int),
                _listed(args.per_document, int))):
            held, mrr, chars = score(store, questions, setting)
            print(f"{name:15} rrf_k={setting.rrf_k:<3} bm25_weight={setting.bm25_weight:<4} top_k={setting.top_k:<3} "
                  f"max_per_document={setting.max_per_document:<3} context holds answer {held:.3f}  MRR {mrr:.3f}  "
                  f"{chars:,.0f} characters ({len(questions)} questions)", flush=True)


if __name__ == "__main__":
    main()
