"""The scale benchmark behind ``python -m evals.bench --chunks N``: a store of N chunks, then the
figures that grow with the library, measured in a fresh process that only serves questions.

Building N real chunks would mean embedding N texts (hours at 100,000 on two cores), so the store
is synthetic, with one documented shortcut: chunks are real sentences of the bundled corpus,
recombined (runs of 2-4 consecutive sentences from random places, about 190 words, i.e. the
~250-wordpiece chunks ingest makes), and a chunk's vector is the normalised mean of its sentences'
vectors, each distinct sentence embedded once. Documents have 50 chunks each, written to Chroma in
batches of 5,000 chunks (in the layout ``Store.put_document`` writes) and indexed by the real
lexical index, so everything a question touches (HNSW, metadata, the lexical index, document
texts) is the size it would be.

What is then measured, in a child process so its peak RSS is that of serving, not of building:
cold start (process start to the first answer), warm retrieval p50/p95 by stage, warm extractive
answers, and the real ``ingest`` of one new document of about 50 chunks (whole paragraphs) into
the big store, with the time spent inside the embedding model measured in the same run. With
``--ingest-chunks M`` the parent also ingests M chunks of new files into a fresh store and
compares the wall time with the embedding time inside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from evals.metrics import percentile, warm_answer_ms
from evals.questions import CORPUS, load_questions
from ragchat.settings import Settings
from ragchat.text.sentences import split_sentences

CHUNKS_PER_DOCUMENT = 50
WORDS_PER_CHUNK = 190  # ~250 MiniLM wordpieces of English prose: the size ingest cuts chunks to
PARAGRAPH_WORDS = 100  # a new document's paragraphs: ingest packs one to two into a chunk
_SEED = 11
_WRITE_BATCH = 5000  # chunks per Chroma call while building (its limit is a little over 5,400)


def corpus_sentences(folder: Path = CORPUS) -> list[list[str]]:
    """Each bundled document's sentences in order; fragments under four words are left out."""
    return [[s.text for s in split_sentences(path.read_text(encoding="utf-8")) if len(s.text.split()) >= 4]
            for path in sorted(folder.glob("*.txt"))]


def synthetic_chunk(rng: random.Random, docs: list[list[str]], size: int = WORDS_PER_CHUNK) -> list[tuple[int, int]]:
    """(document, sentence) positions of one chunk: runs of 2-4 consecutive real sentences."""
    picked: list[tuple[int, int]] = []
    words = 0
    while words < size:
        d = rng.randrange(len(docs))
        start = rng.randrange(len(docs[d]))
        for s in range(start, min(start + rng.randint(2, 4), len(docs[d]))):
            picked.append((d, s))
            words += len(docs[d][s].split())
    return picked


def build_store(settings: Settings, chunks: int) -> dict[str, float]:
    """Fill an empty store with ``chunks`` synthetic chunks; returns how long each part took."""
    from vectorstore import lexical
    from vectorstore.embeddings import embeddings_for
    from vectorstore.store import DocRecord, Store, StoredChunk, chunk_id

    started = time.perf_counter()
    docs = corpus_sentences()
    embeddings = embeddings_for(settings)
    flat = [s for d in docs for s in d]
    vectors = np.asarray(embeddings.encode(flat), dtype=np.float32)
    offset = np.cumsum([0] + [len(d) for d in docs])
    embedded = time.perf_counter()

    store = Store(settings)
    store.check_model(embeddings.name)
    store.record_model(embeddings.name, vectors.shape[1])
    rng = random.Random(_SEED)
    stamps: list[tuple[str, list[tuple[str, str]], str]] = []
    pending: list[tuple[DocRecord, str, list[StoredChunk], list[list[float]]]] = []
    for number in range((chunks + CHUNKS_PER_DOCUMENT - 1) // CHUNKS_PER_DOCUMENT):
        doc_id = f"synthetic{number:06d}"
        count = min(CHUNKS_PER_DOCUMENT, chunks - number * CHUNKS_PER_DOCUMENT)
        texts, chunk_vectors = [], []
        for _ in range(count):
            picked = synthetic_chunk(rng, docs)
            texts.append(" ".join(docs[d][s] for d, s in picked))
            mean = vectors[[offset[d] + s for d, s in picked]].mean(axis=0)
            chunk_vectors.append((mean / np.linalg.norm(mean)).tolist())
        text = "\n\n".join(texts)
        stored, start = [], 0
        for index, body in enumerate(texts):
            stored.append(StoredChunk(chunk_id=chunk_id(doc_id, index), doc_id=doc_id, text=body, start=start,
                                      end=start + len(body), index=index, source=f"{doc_id}.txt", title=f"Synthetic {number}"))
            start += len(body) + 2
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        record = DocRecord(doc_id=doc_id, source=f"{doc_id}.txt", path="", content_hash=digest,
                           title=f"Synthetic {number}", chunks=count)
        pending.append((record, text, stored, chunk_vectors))
        stamps.append((doc_id, [(c.chunk_id, c.text) for c in stored], digest))
        if len(pending) * CHUNKS_PER_DOCUMENT >= _WRITE_BATCH:
            _write(store, pending)
            pending = []
    _write(store, pending)
    written = time.perf_counter()
    lexical.delete_index(settings)
    lexical.LexicalIndex(lexical.index_path(settings)).replace_documents(stamps)
    return {"sentences": len(flat), "embed_sentences_s": embedded - started, "write_chroma_s": written - embedded,
            "lexical_index_s": time.perf_counter() - written}


def new_document(folder: Path, name: str, chunks: int, seed: int) -> Path:
    """A plain-text file of real sentences in paragraphs that ingest cuts into ``chunks`` chunks
    (as near as whole paragraphs allow; the paragraph count is found by bisection)."""
    from ingest.chunking import chunk_text

    docs = corpus_sentences()
    rng = random.Random(seed)
    paragraphs = [" ".join(docs[d][s] for d, s in synthetic_chunk(rng, docs, PARAGRAPH_WORDS)) for _ in range(chunks * 3)]
    settings = Settings()

    def text(count: int) -> str:
        return f"{name}\n\n" + "\n\n".join(paragraphs[:count]) + "\n"

    low, high = 1, len(paragraphs)
    while low < high:
        middle = (low + high + 1) // 2
        if len(chunk_text(text(middle), settings.ingest.chunk_tokens, settings.ingest.chunk_overlap,
                          settings.store.embedding_model)) <= chunks:
            low = middle
        else:
            high = middle - 1
    path = folder / name
    path.write_text(text(low), encoding="utf-8")
    return path


def _write(store, documents: list) -> None:
    """Chunks, then records (the commit markers), in batches of thousands: the build's one shortcut
    through Chroma; a real ingest writes one document at a time through ``Store.put_document``."""
    from vectorstore.store import _chunk_metadata

    chunks = [(c, v) for _, _, stored, vectors in documents for c, v in zip(stored, vectors)]
    for lo in range(0, len(chunks), _WRITE_BATCH):
        part = chunks[lo:lo + _WRITE_BATCH]
        store.chunks.add(ids=[c.chunk_id for c, _ in part], embeddings=[v for _, v in part],
                         documents=[c.text for c, _ in part], metadatas=[_chunk_metadata(c) for c, _ in part])
    if documents:
        store.docs.add(ids=[r.doc_id for r, _, _, _ in documents], embeddings=[[1.0]] * len(documents),
                       documents=[t for _, t, _, _ in documents],
                       metadatas=[{"record": json.dumps(asdict(r)), "source": r.source} for r, _, _, _ in documents])


# -- the serving process ---------------------------------------------------------------------------
def serve(settings: Settings, rounds: int, questions: int) -> dict[str, float]:
    """Everything measured over the built store, in this (fresh) process."""
    from chatbot.pipeline import answer
    from ingest.pipeline import doc_id_for, ingest, remove_documents
    from vectorstore.embeddings import embeddings_for
    from vectorstore.retrieval import open_retriever

    asked = [q.question for q in load_questions()][:questions]
    answer(asked[0], settings=settings)
    first_answer_at = time.time()  # the parent subtracts its spawn time: import + open + first answer

    retriever = open_retriever(settings)
    for question in asked:  # warm-up: caches filled, pages of the store in memory
        retriever.retrieve(question)
    runs = [retriever.retrieve(q).timings_ms for _ in range(rounds) for q in asked]
    answers = warm_answer_ms(asked, settings, rounds)

    folder = Path(tempfile.mkdtemp(prefix="ragchat-newdoc-"))
    try:
        path = new_document(folder, "new_document.txt", CHUNKS_PER_DOCUMENT, seed=_SEED + 1)
        embeddings = embeddings_for(settings)
        started, embedding_before = time.perf_counter(), embeddings.seconds_embedding
        report = ingest([path], settings, progress=False, embeddings=embeddings)
        ingest_s = time.perf_counter() - started
        embed_s = embeddings.seconds_embedding - embedding_before
        remove_documents([doc_id_for(path)], settings)  # the store stays N chunks, so --data-dir can reuse it
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    figures = {"first_answer_at": first_answer_at, "queries": len(runs), "answers": len(answers),
               "retrieval_p50_ms": percentile([t["total"] for t in runs], 50),
               "retrieval_p95_ms": percentile([t["total"] for t in runs], 95),
               "answer_p50_ms": percentile(answers, 50), "answer_p95_ms": percentile(answers, 95),
               "ingest_one_doc_s": ingest_s, "ingest_one_doc_embed_s": embed_s,
               "ingest_one_doc_chunks": report.chunks_written,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for stage, name in (("embed", "embed_query"), ("dense", "dense"), ("bm25", "lexical"), ("fuse", "fusion"),
                        ("passages", "passages"), ("strength", "strength")):
        values = [t.get(stage, 0.0) for t in runs]
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = percentile(values, 50), percentile(values, 95)
    return figures


def ingest_ratio(settings: Settings, chunks: int) -> dict[str, float]:
    """Ingest wall time of ``chunks`` chunks of new files into a fresh store vs the time spent embedding
    them in that same run (measured inside ``embed_documents``, so machine load hits both alike)."""
    from ingest.pipeline import ingest
    from vectorstore.embeddings import embeddings_for

    folder = Path(tempfile.mkdtemp(prefix="ragchat-ingest-"))
    try:
        files = [new_document(folder, f"doc_{n:03d}.txt", CHUNKS_PER_DOCUMENT, seed=_SEED + 100 + n)
                 for n in range((chunks + CHUNKS_PER_DOCUMENT - 1) // CHUNKS_PER_DOCUMENT)]
        embeddings = embeddings_for(settings)
        embeddings.embed_documents(["the model loaded before the clock starts"])
        fresh = settings.replace(data_dir=folder / "data", store_dir=None)
        started, embedding_before = time.perf_counter(), embeddings.seconds_embedding
        report = ingest(files, fresh, progress=False, embeddings=embeddings)  # the files, not the folder the store is in
        wall_s = time.perf_counter() - started
        embed_s = embeddings.seconds_embedding - embedding_before
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"ingest_chunks": report.chunks_written, "ingest_wall_s": wall_s, "ingest_embed_s": embed_s,
            "ingest_wall_over_embed": wall_s / embed_s}


# -- the parent ------------------------------------------------------------------------------------
def run(chunks: int, rounds: int, questions: int, ingest_chunks: int, data_dir: Path | None) -> dict[str, object]:
    folder = data_dir or Path(tempfile.mkdtemp(prefix="ragchat-scale-"))
    settings = Settings.from_env(data_dir=folder, store_dir=None, chroma_host="")
    try:
        from vectorstore.store import Store

        result: dict[str, object] = {"chunks": chunks, "embedding_backend": settings.store.embedding_backend}
        started = time.perf_counter()
        if Store(settings).count() != chunks:
            Store(settings).reset()
            result.update(build_store(settings, chunks))
        result["build_s"] = time.perf_counter() - started
        if ingest_chunks:
            result.update(ingest_ratio(settings, ingest_chunks))
        spawned = time.time()
        child = subprocess.run([sys.executable, "-m", "evals.scale", "--serve", str(folder), "--rounds", str(rounds),
                                "--questions", str(questions)], capture_output=True, text=True,
                               env={**os.environ, "RAGCHAT_DATA_DIR": str(folder)})
        if child.returncode != 0:
            raise RuntimeError(f"the serving process failed: {child.stderr[-2000:]}")
        served = json.loads(child.stdout.strip().splitlines()[-1])
        result["cold_start_s"] = served.pop("first_answer_at") - spawned
        result.update(served)
        result["load_average"] = list(os.getloadavg())
        result["cores"] = os.cpu_count()
        return result
    finally:
        if data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


def render(result: dict[str, object]) -> list[str]:
    r = result
    lines = [f"scale benchmark: {r['chunks']:,} chunks, embedding backend {r['embedding_backend']}"]
    if "sentences" in r:
        lines.append(f"  build: {r['build_s']:.1f} s ({r['sentences']} distinct sentences embedded in "
                     f"{r['embed_sentences_s']:.1f} s, Chroma writes {r['write_chroma_s']:.1f} s, lexical index "
                     f"{r['lexical_index_s']:.1f} s)")
    lines += [
        f"  cold start to first answer: {r['cold_start_s']:.1f} s",
        f"  retrieval, warm ({r['queries']} queries): p50 {r['retrieval_p50_ms']:.1f} ms, p95 {r['retrieval_p95_ms']:.1f} ms",
        "    by stage p50/p95 (ms): " + ", ".join(
            f"{name} {r[f'{name}_p50_ms']:.1f}/{r[f'{name}_p95_ms']:.1f}"
            for name in ("embed_query", "dense", "lexical", "fusion", "passages", "strength")),
        f"  extractive answer, warm ({r['answers']} answers): p50 {r['answer_p50_ms']:.1f} ms, p95 {r['answer_p95_ms']:.1f} ms",
        f"  ingest of one new document ({r['ingest_one_doc_chunks']} chunks): {r['ingest_one_doc_s']:.2f} s, of which "
        f"embedding {r['ingest_one_doc_embed_s']:.2f} s",
        f"  peak RSS of the serving process: {r['peak_rss_mb']:.0f} MB",
    ]
    if "ingest_chunks" in r:
        lines.append(f"  ingest of {r['ingest_chunks']} new chunks into a fresh store: {r['ingest_wall_s']:.1f} s wall vs "
                     f"{r['ingest_embed_s']:.1f} s of it embedding ({r['ingest_wall_over_embed']:.2f}x)")
    load = r["load_average"]
    lines.append(f"  load average (1/5/15 min) at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {r['cores']} cores")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=76)
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.serve, store_dir=None, chroma_host="")
    print(json.dumps(serve(settings, args.rounds, args.questions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
