"""Run the question set through ragchat (and optionally the naive baseline) and write the results.

Library API (used by ``ragchat eval`` and the Streamlit Evaluation page)::

    summary = run(settings, "evals/questions.jsonl", "evals/out", backend=None, baseline=True,
                  progress=lambda done, total: ...)
    summary.failures(minimums={"correctness": 0.8}, maximums={"false_refusals": 0.1})
    last = evals.report.load_last("evals/out")   # the summary and per-question rows written by run()

``run`` writes three files into ``out_dir``: ``results.jsonl`` (one line per question: its id, the
full ``ragchat ask --json`` object, its scores and, with a baseline, the baseline's answer and
scores), ``summary.json`` (``Summary.to_json()``) and ``report.html`` (self-contained).

Every question is answered exactly as a user would ask it: follow-ups (``follows``) get the
history of the conversation they belong to, and latency is the wall-clock time of the whole
``answer()`` call, measured after one untimed warm-up question so model loading is not charged to
whichever question happens to come first.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from chatbot.pipeline import answer
from chatbot.schema import Answer, Citation, Retrieved, Sentence, turn_of
from chatbot.verify import SentenceEncoder, check
from evals import metrics
from evals.baseline import baseline_retrieve
from evals.questions import Question, load_questions
from evals.report import write_report
from evals.summary import Summary, SystemRun
from ragchat.settings import AnswerSettings, Settings
from ragchat.text.sentences import split_sentences
from vectorstore.embeddings import embeddings_for
from vectorstore.passages import Passage
from vectorstore.request import RetrievalRequest, Turn
from vectorstore.retrieval import open_retriever

BASELINE_K = 4  # the LangChain tutorial's similarity top-4; the baseline never sees more passages
Progress = Callable[[int, int], None]


@dataclass
class _Row:
    question: Question
    answer: Answer
    scores: metrics.Scores
    baseline_answer: Answer | None = None
    baseline_scores: metrics.Scores | None = None

    def to_json(self) -> dict:
        q = self.question
        row = {"id": q.id, "type": q.type, "question": q.question, "answerable": q.answerable,
               "sources": list(q.sources), "must": [list(g) for g in q.must], "reference": q.reference,
               "follows": q.follows or "", "answer": self.answer.to_json(),
               "scores": self.scores.to_json()}
        if self.baseline_answer is not None and self.baseline_scores is not None:
            row["baseline"] = {"answer": self.baseline_answer.to_json(), "scores": self.baseline_scores.to_json()}
        return row


def run(settings: Settings, questions_path: str | Path, out_dir: str | Path, *, backend: str | None = None,
        baseline: bool = False, k: int | None = None, progress: Progress | None = None) -> Summary:
    """Evaluate ragchat on a question file; see the module docstring for what is written where.

    Raises ValueError with a one-line message naming file, line and field for a malformed
    question file before answering anything, so a typo on line 70 does not cost a full run; and
    ValueError for an unknown backend.
    """
    questions = load_questions(Path(questions_path))
    if backend:
        settings = settings.replace(backend=backend)
    k = k or settings.retrieval.top_k
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(timezone.utc), time.perf_counter()

    rows = _answer_all(questions, settings, k, progress, with_baseline=baseline)
    system = SystemRun(f"ragchat ({settings.answer.backend})", k, metrics.aggregate(questions, [r.scores for r in rows]),
                       metrics.pass_rate_by_type(questions, [r.scores for r in rows]),
                       metrics.pass_rate_by_answer_kind(questions, [r.scores for r in rows]))
    base = None
    if baseline:
        base_scores = [r.baseline_scores for r in rows]
        base = SystemRun("naive baseline", BASELINE_K, metrics.aggregate(questions, base_scores),
                         metrics.pass_rate_by_type(questions, base_scores),
                         metrics.pass_rate_by_answer_kind(questions, base_scores))
    summary = Summary(str(questions_path), len(questions), settings.answer.backend, started.isoformat(timespec="seconds"),
                      round(time.perf_counter() - clock, 1), system, base, _notes(rows, settings, baseline))

    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
    write_report(summary, [r.to_json() for r in rows], out / "report.html")
    return summary


def _answer_all(questions: Sequence[Question], settings: Settings, k: int, progress: Progress | None, *,
                with_baseline: bool) -> list[_Row]:
    retriever = open_retriever(settings)
    encoder = SentenceEncoder(embeddings_for(settings), settings.answer.sentence_cache)
    by_id = {q.id: q for q in questions}
    done: dict[str, tuple[Answer, float]] = {}

    def history(q: Question) -> list[Turn]:
        """The turns before ``q`` in its conversation (the chain of ``follows``), each answered once."""
        if not q.follows:
            return []
        parent = by_id[q.follows]
        return history(parent) + [turn_of(answered(parent)[0])]

    def answered(q: Question) -> tuple[Answer, float]:
        if q.id not in done:
            turns = history(q)
            clock = time.perf_counter()
            result = answer(q.question, RetrievalRequest.of(turns, k=k), settings=settings)
            done[q.id] = (result, (time.perf_counter() - clock) * 1000)
        return done[q.id]

    if questions:  # warm-up: loads the embedding model, BM25 index and baseline index untimed
        answer(questions[0].question, RetrievalRequest.of(k=k), settings=settings)
        if with_baseline:
            baseline_retrieve(questions[0].question, settings)

    rows = []
    for n, q in enumerate(questions, 1):
        result, latency = answered(q)
        # Answer.retrieved names passages but not their text; retrieval is deterministic, so
        # repeating it (untimed) gives exactly the context the answer was composed from.
        context = [p.text for p in retriever.retrieve(q.question, RetrievalRequest.of(history(q), k=k)).passages]
        row = _Row(q, result, metrics.score(q, result, context, latency, k=k,
                                            support_threshold=settings.answer.support_threshold))
        if with_baseline:
            row.baseline_answer, row.baseline_scores = _baseline(q, settings, encoder)
        rows.append(row)
        if progress:
            progress(n, len(questions))
    return rows


def _baseline(q: Question, settings: Settings, encoder: SentenceEncoder) -> tuple[Answer, metrics.Scores]:
    """The tutorial pipeline: no history, no refusal, the top passage is the answer and its citation."""
    clock = time.perf_counter()
    passages = baseline_retrieve(q.question, settings)
    latency = (time.perf_counter() - clock) * 1000  # retrieval is the whole of its answering
    result = baseline_answer(q.question, passages, encoder, settings.answer)
    return result, metrics.score(q, result, [p.text for p in passages], latency, k=BASELINE_K,
                                 support_threshold=settings.answer.support_threshold)


def baseline_answer(question: str, passages: Sequence[Passage], encoder: SentenceEncoder,
                    config: AnswerSettings) -> Answer:
    """Express the baseline's output in the Answer contract so both systems are scored by one code path.

    Its answer is the top passage, cited as [1] sentence by sentence, and each sentence goes
    through the same verifier as ragchat's: that is what makes the citation columns comparable,
    even though a verbatim passage backs itself by construction (see BASELINE_CITATION_NOTE).
    """
    retrieved = [Retrieved(p.chunk_ids[0] if p.chunk_ids else "", p.source, round(float(p.score), 4)) for p in passages]
    if not passages:
        return Answer(question, "", True, "baseline", retrieved=retrieved)
    top = passages[0]
    sentences = []
    for span in split_sentences(top.text, top.start):
        verdict = check(span.text, top.text, top.start, encoder, config)
        sentences.append(Sentence(span.text, [1], verdict.support >= config.support_threshold, verdict.support))
    citation = Citation(n=1, chunk_id=retrieved[0].chunk_id, doc_id=top.doc_id, source=top.source, title=top.title,
                        author="", date=top.date, quote=top.text, start=top.start, end=top.end,
                        support=min((s.support for s in sentences), default=0.0), passage=top.text,
                        passage_start=top.start, page=top.page)
    return Answer(question, f"{top.text} [1]", False, "baseline", [citation], sentences, retrieved)


BASELINE_CITATION_NOTE = (
    "The naive baseline answers with its top passage verbatim and cites that passage, so the verifier finds every "
    "sentence supported by construction: its citation recall and precision say nothing about its quality. Compare "
    "the systems on correctness, refusals and 'cites a gold source'. The baseline never refuses and asks follow-ups "
    "without conversation history, as the LangChain tutorial pipeline does.")


def _notes(rows: Sequence[_Row], settings: Settings, with_baseline: bool) -> list[str]:
    notes = []
    used = Counter(r.answer.backend for r in rows)
    if set(used) - {settings.answer.backend}:
        notes.append("answers came from backends " + ", ".join(f"{b} ({n})" for b, n in used.most_common())
                     + f" although {settings.answer.backend} was asked for; see each answer's notices")
    if used.get("extractive") == len(rows):
        notes.append("Every ragchat answer here is extractive: its sentences are verbatim sentences of the passages they "
                     "cite, so citation recall and precision are near 1 by construction and mainly guard against "
                     "regressions in citation numbering and quoting. They discriminate with an LLM backend.")
    if with_baseline:
        notes.append(BASELINE_CITATION_NOTE)
    return notes
