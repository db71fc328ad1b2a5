"""Latency figures, printed rather than asserted: timings on shared 2-core machines are too noisy
for a test to fail on, but worth reading before and after a change.

``python -m evals.bench`` builds a fresh store of the bundled corpus in a temporary folder, then
runs each benchmark in ``BENCHMARKS`` on it. A benchmark is a function of the corpus settings
returning printable lines, so adding one is one function and one list entry.

``python -m evals.bench --chunks N [--json]`` is the scale benchmark instead (``evals/scale.py``):
a synthetic store of N chunks and the figures that grow with the library.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from evals.metrics import percentile, warm_answer_ms
from evals.questions import CORPUS, load_questions
from ingest.pipeline import ingest, prepare
from ragchat.settings import Settings
from vectorstore import lexical
from vectorstore.retrieval import open_retriever
from vectorstore.store import Store

ROUNDS = 3  # passes over the 76 questions after the warm-up pass


def retrieval_latency(settings: Settings) -> list[str]:
    """Warm latency of HybridRetriever.retrieve over every evaluation question (no follow-up history)."""
    retriever = open_retriever(settings)
    questions = [q.question for q in load_questions()]
    for question in questions:  # warm-up: model, Chroma and the lexical index loaded, caches filled
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
    totals = warm_answer_ms([q.question for q in load_questions()], settings, ROUNDS)
    return [f"extractive answer, warm ({len(totals)} questions): "
            f"p50 {percentile(totals, 50):.1f} ms, p95 {percentile(totals, 95):.1f} ms"]


def lexical_update_cost(settings: Settings) -> list[str]:
    """What one ingest of one new document costs the lexical index: open it, add the document (one commit)."""
    path = CORPUS / "002_c8b9326db87545d0.txt"  # the largest bundled document: the worst case here
    prepared = prepare(path, settings)
    store = Store(settings)
    started = time.perf_counter()
    index = lexical.load_index(settings, store)
    loaded = time.perf_counter()
    index.replace_document("bench-new-document", [(f"bench:{c.index:04d}", c.text) for c in prepared.chunks])
    added = time.perf_counter()
    size = sum(p.stat().st_size for p in lexical.index_path(settings).iterdir())
    index.remove_document("bench-new-document")  # it is not in Chroma; leave the index as it was
    return [f"lexical index update for one ingest ({len(prepared.chunks)} chunks, {len(prepared.text):,} chars): "
            f"load {(loaded - started) * 1000:.1f} ms, add and commit {(added - loaded) * 1000:.1f} ms "
            f"({size / 1024:.0f} KiB index)"]


BENCHMARKS: list[Callable[[Settings], list[str]]] = [retrieval_latency, answer_latency, lexical_update_cost]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, help="run the scale benchmark on a synthetic store of this many chunks")
    parser.add_argument("--json", action="store_true", help="with --chunks: print exactly one JSON object")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="with --chunks: timed passes over the questions")
    parser.add_argument("--questions", type=int, default=76, help="with --chunks: how many evaluation questions to ask")
    parser.add_argument("--ingest-chunks", type=int, default=0,
                        help="with --chunks: also compare ingest wall time with pure embedding time for this many new chunks")
    parser.add_argument("--data-dir", type=Path, help="with --chunks: build the store here and keep it (reused if it has N chunks)")
    args = parser.parse_args(argv)
    if args.chunks:
        from evals import scale

        result = scale.run(args.chunks, args.rounds, args.questions, args.ingest_chunks, args.data_dir)
        print(json.dumps(result) if args.json else "\n".join(scale.render(result)))
        return 0
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
