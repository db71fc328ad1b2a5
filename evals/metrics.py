"""Answer and citation metrics: per-question scores and their aggregate over a run.

Everything here reads only the Answer JSON contract (chatbot/schema.py), so the numbers in a
report are computed from exactly what a user of ``ragchat ask --json`` sees. Retrieval metrics
come from evals/retrieval.py so the evaluator and the retrieval tests share one definition.

Citation metrics follow ALCE (Gao et al., 2023), computed from the verifier's verdicts that the
Answer already carries:

* citation recall of an answer: share of its sentences that have at least one citation and are
  judged supported by their cited passages;
* citation precision of an answer: share of its (sentence, citation) pairs where the sentence is
  supported and that citation on its own reaches the support threshold, i.e. the citation is not
  a passenger on someone else's evidence.

Both are averaged per answer (macro), as ALCE does, over answers that were given (abstentions are
scored by the refusal metrics instead; an answer with no citations scores 0 on both).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from chatbot.question import answer_kind
from chatbot.render import MARKER
from chatbot.schema import Answer
from evals.keys import context_holds_answer, has_answer_keys, holds_a_key
from evals.questions import Question
from evals.retrieval import hit_at_k, reciprocal_rank


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool
    help: str
    unit: str = ""  # "" for a share in [0, 1], "ms" for latencies


# The order here is the order of every table and chart.
METRICS: tuple[Metric, ...] = (
    Metric("hit_at_k", "Gold hit@k", True, "answerable questions with a gold document among the top k retrieved passages"),
    Metric("mrr", "MRR", True, "mean reciprocal rank of the first gold-document passage"),
    Metric("context_holds_answer", "Context holds answer", True, "answerable questions whose retrieved passages contain every answer key"),
    Metric("correctness", "Correctness", True, "answerable questions answered (not refused) with every answer key present"),
    Metric("refusal_accuracy", "Refusal accuracy", True, "unanswerable questions the system declined to answer"),
    Metric("false_refusals", "False refusals", False, "answerable questions the system declined to answer"),
    Metric("citation_recall", "Citation recall", True, "ALCE: answer sentences cited and supported by their citations"),
    Metric("citation_precision", "Citation precision", True, "ALCE: citations that support the sentence citing them"),
    Metric("gold_citation", "Cites a gold source", True, "answers to answerable questions citing at least one gold document"),
    Metric("span_accuracy", "Span accuracy", True,
           "answers to answerable questions with a short answer span whose span contains a gold answer"),
    Metric("span_rate", "Span given", True, "answers to answerable questions that carry a short answer span"),
    Metric("latency_p50_ms", "Latency p50", False, "median wall-clock time per question (after one untimed warm-up question)", "ms"),
    Metric("latency_p95_ms", "Latency p95", False, "95th-percentile time per question", "ms"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Scores:
    """One question's scores; None where a metric does not apply to it (e.g. hit@k of an unanswerable question)."""

    passed: bool  # answerable: correct; unanswerable: refused
    abstained: bool
    correct: bool | None
    hit_at_k: float | None
    mrr: float | None
    context_holds_answer: float | None
    citation_recall: float | None
    citation_precision: float | None
    gold_citation: float | None
    latency_ms: float
    span_correct: bool | None = None  # answered answerable question with a span: the span holds a gold answer

    def to_json(self) -> dict:
        return asdict(self)


def plain_text(answer_text: str) -> str:
    """The answer without its [n] markers, so a marker never counts as a matched number; the space
    before a marker goes with it, so "Joseph Broussard [1]." reads "Joseph Broussard." as quoted."""
    return " ".join(_SPACED_MARKER.sub("", answer_text).split())


_SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)


def citation_recall(answer: Answer) -> float:
    if not answer.sentences:
        return 0.0
    return sum(1 for s in answer.sentences if s.citations and s.supported) / len(answer.sentences)


def citation_precision(answer: Answer, support_threshold: float) -> float:
    by_n = {c.n: c for c in answer.citations}
    pairs = [(s, by_n.get(n)) for s in answer.sentences for n in s.citations]
    if not pairs:
        return 0.0
    precise = sum(1 for s, c in pairs if s.supported and c is not None and c.support >= support_threshold)
    return precise / len(pairs)


def score(question: Question, answer: Answer, passage_texts: Sequence[str], latency_ms: float, *,
          k: int, support_threshold: float) -> Scores:
    """Score one answer; ``passage_texts`` are the retrieved passages, for context-holds-answer."""
    retrieved_sources = [r.source for r in answer.retrieved]
    gold = list(question.sources)
    answered = not answer.abstained
    correct = answered and has_answer_keys(plain_text(answer.answer), question.must) if question.answerable else None
    retrieval_applies = question.answerable and bool(gold)
    return Scores(
        passed=bool(correct) if question.answerable else answer.abstained,
        abstained=answer.abstained,
        correct=correct,
        hit_at_k=float(hit_at_k(retrieved_sources, gold, k)) if retrieval_applies else None,
        mrr=float(reciprocal_rank(retrieved_sources, gold)) if retrieval_applies else None,
        context_holds_answer=float(context_holds_answer(passage_texts, question.must)) if question.answerable else None,
        citation_recall=citation_recall(answer) if answered else None,
        citation_precision=citation_precision(answer, support_threshold) if answered else None,
        gold_citation=float(bool({c.source for c in answer.citations} & set(gold))) if answered and retrieval_applies else None,
        latency_ms=latency_ms,
        span_correct=holds_a_key(answer.answer_span.text, question.must)
        if answered and question.answerable and answer.answer_span is not None else None,
    )


def aggregate(questions: Sequence[Question], scores: Sequence[Scores]) -> dict[str, float | None]:
    """Run-level metrics keyed as in METRICS; None when no question of the run exercises a metric."""
    answerable = [s for q, s in zip(questions, scores) if q.answerable]
    unanswerable = [s for q, s in zip(questions, scores) if not q.answerable]
    latencies = [s.latency_ms for s in scores]
    return {
        "hit_at_k": _mean(s.hit_at_k for s in scores),
        "mrr": _mean(s.mrr for s in scores),
        "context_holds_answer": _mean(s.context_holds_answer for s in scores),
        "correctness": _mean(float(bool(s.correct)) for s in answerable),
        "refusal_accuracy": _mean(float(s.abstained) for s in unanswerable),
        "false_refusals": _mean(float(s.abstained) for s in answerable),
        "citation_recall": _mean(s.citation_recall for s in scores),
        "citation_precision": _mean(s.citation_precision for s in scores),
        "gold_citation": _mean(s.gold_citation for s in scores),
        "span_accuracy": _mean(None if s.span_correct is None else float(s.span_correct) for s in answerable),
        "span_rate": _mean(float(s.span_correct is not None) for s in answerable if not s.abstained),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def pass_rate_by_type(questions: Sequence[Question], scores: Sequence[Scores]) -> dict[str, float]:
    """Share of questions passed per question type (questions without a type count as "untyped")."""
    groups: dict[str, list[bool]] = {}
    for q, s in zip(questions, scores):
        groups.setdefault(q.type or "untyped", []).append(s.passed)
    return {t: sum(v) / len(v) for t, v in groups.items()}


def pass_rate_by_answer_kind(questions: Sequence[Question], scores: Sequence[Scores]) -> dict[str, float]:
    """Share of questions passed per expected answer kind (chatbot.question: person, date, number, ...)."""
    groups: dict[str, list[bool]] = {}
    for q, s in zip(questions, scores):
        groups.setdefault(answer_kind(q.question), []).append(s.passed)
    return {t: sum(v) / len(v) for t, v in sorted(groups.items())}


def percentile(values: Sequence[float], pct: int) -> float | None:
    """Linear-interpolation percentile (numpy's default), ``pct`` in 1..99, without numpy for two numbers."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[pct - 1])


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def warm_answer_ms(questions: Sequence[str], settings, rounds: int) -> list[float]:
    """Milliseconds per extractive answer, after one warm-up pass fills the caches (both benchmarks use it)."""
    from chatbot.pipeline import answer

    for question in questions:
        answer(question, settings=settings)
    times = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answer(question, settings=settings)
            times.append((time.perf_counter() - started) * 1000)
    return times

