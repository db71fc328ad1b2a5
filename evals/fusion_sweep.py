"""How the lexical list's weight and the RRF constant in reciprocal-rank fusion change retrieval, on both corpora.

    python -m evals.fusion_sweep --weights 1,1.5,2 --rrf-k 60 [--squad-questions 800]

Ingests each corpus into ``evals/out/fusion/<corpus>`` (only what changed) and prints, per setting,
how often the passages handed over hold a gold answer string and the gold document's MRR. The
default weight stays unless a change helps on the corpus it was not chosen on (docs/retrieval.md).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from evals.keys import context_holds_answer
from evals.questions import QUESTIONS, Question, load_questions
from evals.squad import SQUAD
from ingest.pipeline import ingest
from ragchat.settings import Settings
from vectorstore.retrieval import open_retriever

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evals" / "out" / "fusion"


def score(store: Path, questions: list[Question], weight: float, rrf_k: int) -> tuple[float, float]:
    """(context holds the answer, gold-document MRR) over answerable, standalone questions."""
    retriever = open_retriever(Settings().replace(data_dir=store, bm25_weight=weight, rrf_k=rrf_k))
    held = reciprocal = 0.0
    for q in questions:
        passages = retriever.retrieve(q.question).passages
        held += context_holds_answer([p.text for p in passages], q.must)
        ranks = [i for i, p in enumerate(passages) if p.source in q.sources]
        reciprocal += 1 / (ranks[0] + 1) if ranks else 0.0
    return held / len(questions), reciprocal / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="1,1.5,2", help="BM25 weights to try, comma-separated")
    parser.add_argument("--rrf-k", default="60", help="RRF constants to try, comma-separated")
    parser.add_argument("--squad-questions", type=int, default=800, help="answerable SQuAD questions (seeded sample)")
    args = parser.parse_args()
    squad = [q for q in load_questions(SQUAD / "questions.jsonl") if q.answerable]
    random.Random(11).shuffle(squad)
    corpora = {"bundled": (ROOT / "data" / "corpus", [q for q in load_questions(QUESTIONS) if q.answerable and not q.follows]),
               "squad2-train10": (SQUAD / "corpus", squad[:args.squad_questions])}
    for name, (documents, questions) in corpora.items():
        store = OUT / name
        ingest([documents], Settings().replace(data_dir=store), progress=False)
        for rrf_k in (int(k) for k in args.rrf_k.split(",")):
            for weight in (float(w) for w in args.weights.split(",")):
                held, mrr = score(store, questions, weight, rrf_k)
                print(f"{name:15} rrf_k={rrf_k:<3} bm25_weight={weight:<4} context holds answer {held:.3f}  MRR {mrr:.3f}  "
                      f"({len(questions)} questions)", flush=True)


if __name__ == "__main__":
    main()
