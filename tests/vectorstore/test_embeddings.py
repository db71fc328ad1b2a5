"""The embedding backends give the same vectors, and the ONNX one keeps torch off the question path
(a one-shot `ragchat ask` used to spend about ten seconds importing it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from chatbot.resources import reader
from evals.scale import corpus_sentences, synthetic_chunk
from ragchat.settings import Settings
from tests.conftest import ROOT
from vectorstore.embeddings import LocalEmbeddings


def _texts() -> list[str]:
    import random

    docs = corpus_sentences()
    rng = random.Random(5)
    long_chunks = [" ".join(docs[d][s] for d, s in synthetic_chunk(rng, docs, 400)) for _ in range(4)]  # past 256 wordpieces
    return [s for d in docs for s in d[:12]] + long_chunks + ["", "Torkham", "TTP 789 ٹی ٹی پی"]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return LocalEmbeddings("all-MiniLM-L6-v2", backend="torch").encode(_texts())


def test_onnx_vectors_are_torch_vectors(torch_vectors):
    onnx = LocalEmbeddings("all-MiniLM-L6-v2", backend="onnx").encode(_texts())
    assert onnx.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-4)
    assert (onnx * torch_vectors).sum(axis=1).min() >= 0.99


def test_int8_vectors_stay_close(torch_vectors):
    """Quantised weights move the vectors a little (docs/retrieval.md has what that costs in hit@k)."""
    int8 = LocalEmbeddings("all-MiniLM-L6-v2", backend="onnx-int8").encode(_texts())
    cosines = (int8 * torch_vectors).sum(axis=1)
    assert cosines.min() >= 0.95 and cosines.mean() >= 0.98


def test_an_unknown_backend_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="RAGCHAT_EMBEDDING_BACKEND"):
        LocalEmbeddings("all-MiniLM-L6-v2", backend="tensorflow")


_ASK = """
import json, sys
from chatbot.pipeline import answer
from ragchat.settings import Settings
result = answer("How many TTP attacks took place in Pakistan in 2023?", settings=Settings.from_env())
print(json.dumps({"answer": result.answer, "torch": "torch" in sys.modules,
                  "sentence_transformers": "sentence_transformers" in sys.modules}))
"""


def test_answering_on_onnx_never_imports_torch(corpus_settings, embeddings):
    embeddings.encode(["export the model now, if this machine has not yet"])
    reader(Settings().compose.reader_file)  # and the answer reader's
    run = subprocess.run([sys.executable, "-c", _ASK], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "RAGCHAT_DATA_DIR": str(corpus_settings.data_dir),
                              "RAGCHAT_EMBEDDING_BACKEND": "onnx"})
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "789" in result["answer"]
    assert not result["torch"] and not result["sentence_transformers"]
    assert "exporting" not in run.stderr  # the exported model was found in the cache
