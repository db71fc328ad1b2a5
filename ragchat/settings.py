"""The one configuration object: every tunable lives here, read from the environment.

Each field can be set with an environment variable named ``RAGCHAT_<FIELD>`` (upper case);
``CHROMA_HOST`` / ``CHROMA_PORT`` are also honoured because that is what Chroma users already
export. Code receives a ``Settings`` instance instead of reading globals, so tests can run
several stores side by side.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path

_ALIASES = {"chroma_host": "CHROMA_HOST", "chroma_port": "CHROMA_PORT"}


@dataclass(frozen=True)
class Settings:
    # Where things live.
    data_dir: Path = Path("data")
    store_dir: Path | None = None  # default: <data_dir>/store
    collection: str = "ragchat"
    chroma_host: str = ""  # set to use a Chroma server instead of the embedded store
    chroma_port: int = 8000

    # Embedding and chunking.
    embedding_model: str = "all-MiniLM-L6-v2"  # a name the offline registry knows, or a folder
    embedding_batch: int = 32
    chunk_tokens: int = 250  # in the embedding model's own wordpieces, capped at its input length
    chunk_overlap: float = 0.15

    # Ingest limits: a file over one is skipped with a line naming the limit; each is checked while
    # reading, so one hostile file cannot take a run's memory or hours (`python -m evals.hostile` measures).
    # A text at max_text_chars is 40 MB at most (4 bytes a character, UTF-8's worst), so no text file
    # is refused for its size first; PDFs full of images are the larger files, and most fit in 100.
    max_file_mb: int = 100
    # Unpacked size of the .docx parts that are read (document, styles, properties; images are never
    # unpacked): about 10 bytes of WordprocessingML per character of heavily formatted text times
    # max_text_chars. Zip entries declare their size, so a zip bomb is refused before it is unpacked.
    max_unpacked_mb: int = 100
    # Over twice the longest book most readers own (the Bible, 4.3 M characters); at these 2 cores'
    # 10-20 chunks/s such a document already takes 10-20 minutes to embed.
    max_text_chars: int = 10_000_000
    # A long book is 1,000-1,500 pages; longer PDFs are mostly scanned archives with no text layer,
    # and pypdf needs 20-100 ms a page, so this bounds one PDF to a few minutes.
    max_pdf_pages: int = 2_000

    # Retrieval.
    top_k: int = 6
    dense_candidates: int = 30
    bm25_candidates: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    max_per_document: int = 4
    reranker_model: str = ""  # folder of a sentence-transformers CrossEncoder; off when empty
    rerank_candidates: int = 20  # fused chunks the cross-encoder re-scores when it is on
    max_merged_chunks: int = 3  # overlapping/adjacent chunks of a document joined into one passage; 1 = never
    max_near_duplicates: int = 0  # extra passages allowed to overlap one already in the context
    followup_weight: float = 0.5  # RRF weight of the previous turn's cited chunks (they stay candidates)
    # Evidence strength = sigmoid(dense * best-passage cosine + coverage * IDF-weighted share of the
    # query's terms in it + bias). Fitted by `python -m evals.retrieval --calibrate` (logistic
    # regression, answerable vs unanswerable over evals/questions.jsonl) so 0.5 is the refusal cut;
    # 87% of the 76 questions fall on the right side of 0.5, in sample and leave-one-out alike.
    strength_dense: float = 5.536
    strength_coverage: float = 6.002
    strength_bias: float = -4.479

    # Answering.
    backend: str = "extractive"
    # Below the fitted 0.5: the near-miss checks of chatbot.extractive.unanswered_part now refuse
    # what strength alone used to, so the cut sits mid-gap between the strongest unanswerable
    # question strength refuses (0.36) and the weakest answerable one it kept refusing (0.43).
    abstain_threshold: float = 0.4
    answer_min_evidence: float = 0.6  # extractive score of the best sentence below which we refuse
    answer_min_similarity: float = 0.4  # refuse when no passage sentence is this close to the question
    support_threshold: float = 0.5  # a cited sentence with less support than this is flagged
    llm_model: str = ""  # model name (ollama/openai) or GGUF path (llamacpp)
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_max_tokens: int = 300
    llm_context: int = 4096  # llamacpp context window in tokens; must hold the prompt's passages
    llm_temperature: float = 0.0

    # Chat app.
    upload_max_mb: int = 20  # per uploaded file; uploads are stored under <data_dir>/uploads

    @property
    def store_path(self) -> Path:
        return self.store_dir if self.store_dir is not None else self.data_dir / "store"

    @property
    def location(self) -> str:
        """Human-readable place of the store, for status lines and error messages."""
        if self.chroma_host:
            return f"chroma server http://{self.chroma_host}:{self.chroma_port}"
        return str(self.store_path.resolve())

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            name = _ALIASES.get(f.name, f"RAGCHAT_{f.name.upper()}")
            raw = env.get(name) or env.get(f"RAGCHAT_{f.name.upper()}")
            if raw:
                values[f.name] = _coerce(f, raw, name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field, raw: str, name: str):
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if "Path" in kind:
            return Path(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a valid {kind}") from None
    return raw
