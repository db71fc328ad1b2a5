"""Retrieval metrics and the baseline-vs-hybrid comparison.

The metric functions are pure so the answer evaluator (evals/metrics.py) and the retrieval
comparison share one definition. ``python -m evals.retrieval`` prints the comparison table (both
systems in the same run, on the same store); ``--calibrate`` refits the evidence-strength curve
whose coefficients are the ``strength_*`` defaults in Settings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from evals.keys import context_holds_answer
from evals.questions import CORPUS, Question, load_questions
from ragchat.settings import Settings
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.passages import Passage, term_coverage
from vectorstore.request import RetrievalRequest, Turn
from vectorstore.retrieval import HybridRetriever, Retrieval, open_retriever

EQUAL_CONTEXT_K = 3  # 3 chunks of ~250 tokens: about the ~3,100 characters of the baseline's top 4


# -- metrics ---------------------------------------------------------------------------------
def hit_at_k(retrieved_sources: Sequence[str], gold_sources: Collection[str], k: int) -> bool:
    """A gold document is among the first k retrieved passages."""
    return any(s in gold_sources for s in retrieved_sources[:k])


def reciprocal_rank(retrieved_sources: Sequence[str], gold_sources: Collection[str]) -> float:
    """1/rank of the first passage from a gold document; 0 when none is retrieved."""
    return next((1.0 / rank for rank, s in enumerate(retrieved_sources, start=1) if s in gold_sources), 0.0)


class PrimedEmbeddings(LocalEmbeddings):
    """The retriever's query embeddings computed beforehand in batches: one model call per question
    costs several times more than the same questions in one batch, and fitting asks thousands."""

    def __init__(self, name: str, texts: Sequence[str]):
        super().__init__(name)
        self.primed = {t: v for t, v in zip(texts, self.encode(list(texts)).tolist())}

    def embed_query(self, text: str) -> list[float]:
        return self.primed[text] if text in self.primed else super().embed_query(text)


# -- running both systems ----------------------------------------------------------------------
@dataclass
class Row:
    system: str
    hit_at_1: float
    hit_at_k: float
    mrr: float
    holds_answer: float
    context_chars: float
    by_type: dict[str, float] = field(default_factory=dict)  # context-holds-answer per question type


def hybrid_runs(retriever: HybridRetriever, questions: Sequence[Question], k: int | None = None) -> dict[str, Retrieval]:
    """Retrieval per question id; a follow-up gets the turn it follows, with that turn's cited chunks.

    The earlier turn's answer is left empty: this measures retrieval before any answer exists.
    """
    results: dict[str, Retrieval] = {}
    by_id = {q.id: q for q in questions}
    for q in questions:
        history = []
        if q.follows:
            cited = tuple(c for p in results[q.follows].passages for c in p.chunk_ids)
            history = [Turn(by_id[q.follows].question, "", cited)]
        results[q.id] = retriever.retrieve(q.question, RetrievalRequest.of(history, k=k))
    return results


def score(system: str, questions: Sequence[Question], results: dict[str, list[Passage]]) -> Row:
    answerable = [q for q in questions if q.answerable]
    sources = {q.id: [p.source for p in results[q.id]] for q in answerable}
    holds = {q.id: context_holds_answer([p.text for p in results[q.id]], q.must) for q in answerable}
    types = sorted({q.type for q in answerable})
    return Row(
        system=system,
        hit_at_1=statistics.mean(hit_at_k(sources[q.id], q.sources, 1) for q in answerable),
        hit_at_k=statistics.mean(hit_at_k(sources[q.id], q.sources, len(sources[q.id])) for q in answerable),
        mrr=statistics.mean(reciprocal_rank(sources[q.id], q.sources) for q in answerable),
        holds_answer=statistics.mean(holds[q.id] for q in answerable),
        context_chars=statistics.mean(sum(len(p.text) for p in results[q.id]) for q in answerable),
        by_type={t: statistics.mean(holds[q.id] for q in answerable if q.type == t) for t in types},
    )


@dataclass
class Comparison:
    rows: list[Row]
    strengths: dict[str, float]  # evidence strength of the default hybrid, per question id
    questions: list[Question]

    def markdown(self, threshold: float) -> str:
        return render(self.rows, self.questions) + "\n\n" + render_strength(self.strengths, self.questions, threshold)


def compare(settings: Settings, questions: Sequence[Question] | None = None) -> Comparison:
    """Baseline and hybrid on the same store in the same run; retrieval metrics over answerable questions.

    The hybrid runs twice: at its own context size (``top_k`` chunks of ~250 tokens) and at
    ``EQUAL_CONTEXT_K`` chunks, about as many characters as the baseline hands over, so the gain
    cannot be just a bigger context.
    """
    from evals.baseline import baseline_retrieve

    questions = list(questions or load_questions())
    retriever = open_retriever(settings)
    baseline = {q.id: baseline_retrieve(q.question, settings) for q in questions}
    small = hybrid_runs(retriever, questions, k=EQUAL_CONTEXT_K)
    full = hybrid_runs(retriever, questions)
    rows = [
        score("baseline (tutorial: 1000/200 chars, MiniLM, Chroma top-4)", questions, baseline),
        score(f"hybrid, {EQUAL_CONTEXT_K} chunks (baseline's context size)", questions, {i: r.passages for i, r in small.items()}),
        score(f"hybrid, {settings.retrieval.top_k} chunks (default)", questions, {i: r.passages for i, r in full.items()}),
    ]
    return Comparison(rows, {i: r.strength for i, r in full.items()}, questions)


def render(rows: Sequence[Row], questions: Sequence[Question]) -> str:
    answerable = [q for q in questions if q.answerable]
    lines = [f"Answerable questions: {len(answerable)}. hit@k counts all passages handed to the answerer.", "",
             "| system | hit@1 | hit@k | MRR | context holds answer | avg context chars |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.system} | {r.hit_at_1:.3f} | {r.hit_at_k:.3f} | {r.mrr:.3f} | {r.holds_answer:.3f} | "
              f"{r.context_chars:,.0f} |" for r in rows]
    types = list(rows[0].by_type)
    counts = {t: sum(q.type == t for q in answerable) for t in types}
    lines += ["", "Context holds answer, by question type:", "",
              "| system | " + " | ".join(f"{t} ({counts[t]})" for t in types) + " |",
              "|---|" + "---|" * len(types)]
    lines += [f"| {r.system} | " + " | ".join(f"{r.by_type[t]:.2f}" for t in types) + " |" for r in rows]
    return "\n".join(lines)


def render_strength(strengths: dict[str, float], questions: Sequence[Question], threshold: float) -> str:
    answerable = [strengths[q.id] for q in questions if q.answerable]
    unanswerable = [strengths[q.id] for q in questions if not q.answerable]
    kept = sum(s >= threshold for s in answerable)
    refused = sum(s < threshold for s in unanswerable)
    return (f"Evidence strength at the refusal cut {threshold}: {kept}/{len(answerable)} answerable questions pass, "
            f"{refused}/{len(unanswerable)} unanswerable are refused (median strength {statistics.median(answerable):.2f} "
            f"answerable vs {statistics.median(unanswerable):.2f} unanswerable).")


# -- evidence-strength calibration -------------------------------------------------------------
def strength_features(settings: Settings, questions: Sequence[Question]) -> tuple[np.ndarray, np.ndarray]:
    """(best dense similarity, term coverage of that passage) per question, and answerable labels.

    The "best passage" is the one with the highest dense + coverage, the passage the fitted curve
    then also scores highest (its two weights come out about equal), so fitting and use agree.
    """
    retriever = open_retriever(settings)
    rows, labels = [], []
    for q, result in zip(questions, hybrid_runs(retriever, questions).values()):
        pairs = [(p.dense, term_coverage(result.query, p.text, retriever.index.idf)) for p in result.passages] or [(0.0, 0.0)]
        rows.append(max(pairs, key=sum))
        labels.append(float(q.answerable))
    return np.asarray(rows), np.asarray(labels)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Weights (per feature, then bias) by Newton's method; the small L2 keeps a separable set finite."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + l2 * w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def calibrate(settings: Settings) -> str:
    """Fit the strength curve and say how well 0.5 separates answerable from unanswerable."""
    questions = load_questions()
    x, y = strength_features(settings, questions)
    w = fit_logistic(x, y)
    threshold = _strength_threshold(settings)
    accuracy = float(np.mean((1 / (1 + np.exp(-(x @ w[:2] + w[2]))) >= threshold) == (y == 1)))
    return (f"strength_dense: float = {w[0]:.3f}\nstrength_coverage: float = {w[1]:.3f}\nstrength_bias: float = {w[2]:.3f}\n"
            f"accuracy at {threshold}: {accuracy:.3f} in sample, {_leave_one_out_accuracy(x, y, threshold):.3f} "
            f"leave-one-out ({int(y.sum())} answerable, {int(len(y) - y.sum())} unanswerable)")


def _leave_one_out_accuracy(x: np.ndarray, y: np.ndarray, threshold: float) -> float:
    right = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        w = fit_logistic(x[keep], y[keep])
        right += int((1 / (1 + np.exp(-(x[i] @ w[:2] + w[2]))) >= threshold) == (y[i] == 1))
    return right / len(y)


def _strength_threshold(settings: Settings) -> float:
    """The evidence strength below which answers are refused, chosen with the chooser by `python -m evals.fit`."""
    from chatbot.resources import chooser

    return chooser(settings.compose.chooser_file).strength_threshold


def _corpus_settings(settings: Settings) -> Settings:
    """The configured store, filled with the bundled corpus if it is empty (as `make run` would)."""
    from ingest.pipeline import ingest
    from vectorstore.store import Store

    if Store(settings).count() == 0:
        ingest([CORPUS], settings, progress=False)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true", help="refit the evidence-strength coefficients")
    args = parser.parse_args(argv)
    settings = _corpus_settings(Settings.from_env())
    if args.calibrate:
        print(calibrate(settings))
        return 0
    print(compare(settings).markdown(_strength_threshold(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
