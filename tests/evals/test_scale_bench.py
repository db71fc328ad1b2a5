"""The scale benchmark's machine-readable output: a script reading ``--json`` gets exactly one JSON
object with the figures named in docs/retrieval.md. Timings are printed, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

KEYS = {"chunks", "retrieval_p50_ms", "retrieval_p95_ms", "answer_p50_ms", "peak_rss_mb", "ingest_one_doc_s",
        "load_average", "dense_p50_ms", "lexical_p50_ms", "fusion_p50_ms", "answer_p95_ms", "cold_start_s",
        "ingest_one_doc_embed_s"}


def test_bench_chunks_json_prints_one_object_with_the_figures(tmp_path):
    run = subprocess.run([sys.executable, "-m", "evals.bench", "--chunks", "2000", "--json", "--questions", "5",
                          "--rounds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=1200,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)  # the whole of stdout is one object: nothing else is printed there
    assert isinstance(result, dict) and KEYS <= result.keys()
    assert result["chunks"] == 2000 and 40 <= result["ingest_one_doc_chunks"] <= 50  # whole paragraphs: about 50
    assert len(result["load_average"]) == 3 and result["peak_rss_mb"] > 0
    assert 0 < result["ingest_one_doc_embed_s"] < result["ingest_one_doc_s"]
    assert not list(tmp_path.glob("ragchat-*"))  # the temporary store and documents are gone
