"""Latency figures, printed rather than asserted: timings on shared 2-core machines are too noisy
for a test to fail on, but worth reading before and after a change.

``python -m evals.bench`` builds a fresh store of the bundled corpus in a temporary folder, then
runs each benchmark in ``BENCHMARKS`` on it. A benchmark is a function of the corpus settings
returning printable lines, so adding one is one function and one list entry.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evals.metrics import percentile
from evals.questions import CORPUS, load_questions
from ingest.pipeline import ingest, prepare
from ragchat.settings import Settings
from vectorstore import bm25
from vectorstore.retrieval import open_retriever
from vectorstore.store import Store

ROUNDS = 3  # passes over the 76 questions after the warm-up pass


def retrieval_latency(settings: Settings) -> list[str]:
    """Warm latency of HybridRetriever.retrieve over every evaluation question (no follow-up history)."""
    retriever = open_retriever(settings)
    questions = [q.question for q in load_questions()]
    for question in questions:  # warm-up: model, Chroma and BM25 postings loaded, caches filled
        retriever.retrieve(question)
    runs = [retriever.retrieve(q).timings_ms for _ in range(ROUNDS) for q in questions]
    totals = [t["total"] for t in runs]
    stages = [s for s in runs[0] if s != "total"]
    breakdown = ", ".join(f"{s} {statistics.median(t.get(s, 0.0) for t in runs):.1f}" for s in stages)
    return [f"retrieval, warm ({len(totals)} queries, {Store(settings).count()} chunks): "
            f"p50 {percentile(totals, 50):.1f} ms, p95 {percentile(totals, 95):.1f} ms",
            f"  median per stage (ms): {breakdown}"]


def answer_latency(settings: Settings) -> list[str]:
    """Warm end-to-end latency of the default extractive answer: retrieval, composition, verification."""
    from chatbot.pipeline import answer

    questions = [q.question for q in load_questions()]
    for question in questions:  # warm-up pass, as for retrieval
        answer(question, settings=settings)
    totals = []
    for _ in range(ROUNDS):
        for question in questions:
            started = time.perf_counter()
            answer(question, settings=settings)
            totals.append((time.perf_counter() - started) * 1000)
    return [f"extractive answer, warm ({len(totals)} questions): "
            f"p50 {percentile(totals, 50):.1f} ms, p95 {percentile(totals, 95):.1f} ms"]


def bm25_update_cost(settings: Settings) -> list[str]:
    """What one ingest of one new document costs the BM25 index: load, add the document, save."""
    path = CORPUS / "002_c8b9326db87545d0.txt"  # the largest bundled document: the worst case here
    prepared = prepare(path, settings)
    store = Store(settings)
    started = time.perf_counter()
    index = bm25.load_index(settings, store)
    loaded = time.perf_counter()
    index.replace_document("bench-new-document", [(f"bench:{c.index:04d}", c.text) for c in prepared.chunks])
    added = time.perf_counter()
    index.save(store.fingerprint())
    saved = time.perf_counter()
    size = bm25.index_path(settings).stat().st_size
    index.remove_document("bench-new-document")  # it is not in Chroma; leave the index as it was
    index.save(store.fingerprint())
    return [f"BM25 update for one ingest ({len(prepared.chunks)} chunks, {len(prepared.text):,} chars): "
            f"load {(loaded - started) * 1000:.1f} ms, add {(added - loaded) * 1000:.1f} ms, "
            f"save {(saved - added) * 1000:.1f} ms ({size / 1024:.0f} KiB index)"]


BENCHMARKS: list[Callable[[Settings], list[str]]] = [retrieval_latency, answer_latency, bm25_update_cost]


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="ragchat-bench-"))
    try:
        settings = Settings.from_env(data_dir=folder, chroma_host="")
        started = time.perf_counter()
        report = ingest([CORPUS], settings, progress=False)
        print(f"ingest of the bundled corpus: {report.summary()} ({time.perf_counter() - started:.1f} s wall)")
        for benchmark in BENCHMARKS:
            for line in benchmark(settings):
                print(line, flush=True)
        # Other work on the machine inflates every figure above; this says how much there was.
        print(f"load average (1/5/15 min) at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
