"""Question in, cited answer out: retrieval, refusal, composition, verification, rendering.

Every backend ends in the same place: a list of answer sentences, each pointing at passages.
``_render`` then numbers citations in order of first use, picks and checks each quote, and flags
sentences their passages do not back, so an LLM answer and an extractive one are held to one
standard and the UI, CLI and evaluator all read the same ``Answer``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from chatbot import extractive
from chatbot.citations import Numbering, split_marked, with_markers
from chatbot.schema import Answer, Citation, Retrieved, Sentence
from chatbot.schema import turn_of as turn_of  # re-exported: callers import it from here
from chatbot.verify import Facts, SentenceEncoder, check, facts_of, missing_facts
from ragchat.settings import Settings
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.followups import Turn
from vectorstore.store import DocRecord, Store

REFUSAL = "The documents do not answer this question."
LLM_BACKENDS = ("ollama", "openai", "llamacpp")
BACKENDS = ("extractive", *LLM_BACKENDS)
_ALIASES = re.compile(r"\([^)]*\)")


def answer(question: str, history: Sequence[Turn] = (), *, settings: Settings | None = None, backend: str | None = None,
           k: int | None = None, docs: Sequence[str] | None = None, date_from: str | None = None,
           date_to: str | None = None) -> Answer:
    """The complete answer; the same as the last item of ``stream_answer``."""
    result = None
    for result in stream_answer(question, history, settings=settings, backend=backend, k=k, docs=docs,
                                date_from=date_from, date_to=date_to):
        pass
    assert isinstance(result, Answer)
    return result


def stream_answer(question: str, history: Sequence[Turn] = (), *, settings: Settings | None = None,
                  backend: str | None = None, k: int | None = None, docs: Sequence[str] | None = None,
                  date_from: str | None = None, date_to: str | None = None) -> Iterator[str | Answer]:
    """Text pieces as they are produced (LLM tokens, or whole sentences), then the final ``Answer``.

    The pieces are for showing progress; the final ``Answer`` is authoritative: its citation
    numbers are renumbered and checked, and an LLM failure there becomes an extractive answer.
    """
    settings = settings or Settings.from_env()
    backend = (backend or settings.backend).lower()
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    started = time.perf_counter()
    res = _resources(settings)
    rewriter = _rewriter(settings, backend) if history and backend in LLM_BACKENDS else None
    retrieval = res.retriever.retrieve(question, tuple(history), k=k, docs=list(docs) if docs else None,
                                       date_from=date_from, date_to=date_to, rewriter=rewriter)
    timings = {f"retrieve_{name}" if not name.startswith("retriev") else name: ms
               for name, ms in retrieval.timings_ms.items()}
    passages = list(retrieval.passages)
    base = Answer(question=question, answer="", abstained=False, backend=backend, strength=round(retrieval.strength, 3),
                  query=retrieval.query, timings_ms=timings,
                  retrieved=[Retrieved(p.chunk_ids[0], p.source, round(float(p.score), 4)) for p in passages])

    t = time.perf_counter()
    composition = extractive.compose(question, retrieval.query, passages, res.encoder, res.about()) if passages else None
    if composition is not None:
        composition = _compose_parts(question, history, composition, passages, res, k, docs, date_from, date_to, base)
    timings["compose"] = _ms(t)
    reason = _refusal_reason(question, retrieval, composition, settings, res, passages)
    if reason:
        result = _refusal(base, passages, composition, res, reason)
        yield result.answer
        yield _finish(result, started)
        return

    drafted: list[tuple[str, list[int]]] | None = None
    if backend in LLM_BACKENDS:
        from chatbot import backends

        t = time.perf_counter()
        pieces: list[str] = []
        try:
            for piece in backends.stream_answer_text(backend, settings, question, history, passages):
                pieces.append(piece)
                yield piece
        except backends.BackendError as exc:
            base.notices.append(f"{backend} backend failed ({exc}); answered extractively instead")
            base.backend = "extractive"
        else:
            drafted, base.dropped_markers = _parse_llm("".join(pieces), len(passages))
            if not drafted or _says_refusal("".join(pieces)):
                result = _refusal(base, passages, composition, res, "the model found no answer in the passages")
                timings["generate"] = _ms(t)
                yield _finish(result, started)
                return
        timings["generate"] = _ms(t)
    if drafted is None:
        drafted = [(c.span.text, [c.passage]) for c in composition.picks]
    t = time.perf_counter()
    result = _render(base, drafted, passages, res, settings)
    timings["verify"] = _ms(t)
    if backend == "extractive" or base.backend == "extractive":
        for marked in _marked_sentences(result):
            yield marked + " "
    yield _finish(result, started)


def _compose_parts(question: str, history: Sequence[Turn], whole, passages: list, res: "_Resources", k, docs,
                   date_from, date_to, base: Answer):
    """For a question asking several things, one best sentence per part, each from its own search.

    "How many attacks in 2023 and how many in 2024?" is two questions; answered as one, its best
    sentence answers one part and the rest of the answer repeats that part. Each part is searched
    separately (the passages it brings join ``passages``, so they can be cited) and contributes its
    leading sentence, in the order the parts were asked; the whole question's best sentences fill
    up to the usual length only if a part found nothing new.
    """
    parts = extractive.sub_questions(question)
    if len(parts) < 2:
        return whole
    seen = {(p.doc_id, p.start, p.end): i for i, p in enumerate(passages)}
    picks: list = []
    for part in parts:
        found = res.retriever.retrieve(part, tuple(history), k=k, docs=list(docs) if docs else None,
                                       date_from=date_from, date_to=date_to)
        place = {}
        for p in found.passages:
            key = (p.doc_id, p.start, p.end)
            if key not in seen:
                seen[key] = len(passages)
                passages.append(p)
                base.retrieved.append(Retrieved(p.chunk_ids[0], p.source, round(float(p.score), 4)))
            place[len(place)] = seen[key]
        if not found.passages:
            continue
        composed = extractive.compose(part, found.query, found.passages, res.encoder, res.about())
        chosen = {(passages[c.passage].doc_id, c.span.start) for c in picks}
        lead = next((c for c in composed.ranked
                     if (found.passages[c.passage].doc_id, c.span.start) not in chosen), None)
        if lead is not None:
            picks.append(dataclasses.replace(lead, passage=place[lead.passage]))
    if not picks:
        return whole
    return extractive.Composition(picks, whole.evidence, whole.similarity)


# -- refusal --------------------------------------------------------------------------------------

def _refusal_reason(question: str, retrieval, composition, settings: Settings, res: "_Resources",
                    passages: Sequence = ()) -> str:
    """Why the documents do not answer, or "" when they do.

    Five signals, calibrated on the evaluation set's unanswerable questions: retrieval finds
    nothing close; no sentence answers squarely; no sentence is even about the question; or the
    question names a figure or name that no document contains (asking about 2025 when
    the documents stop at 2024), or a name the passages chosen to answer from lack (a question
    about Iran answered from sentences about Pakistan). Names in brackets are aliases ("Daesh-K (ISIS-K)"), and the
    documents' authors and titles count, since "according to Taut Bataut" names an author.
    """
    if not retrieval.passages or retrieval.strength < settings.abstain_threshold:
        return f"evidence strength {retrieval.strength:.2f} is below {settings.abstain_threshold:.2f}"
    if composition is None or composition.evidence < settings.answer_min_evidence:
        return "no passage sentence answers the question"
    if composition.similarity < settings.answer_min_similarity:
        return f"no passage sentence is about the question (best similarity {composition.similarity:.2f})"
    missed = extractive.unanswered_part(question, [c.span.text for c in composition.picks])
    if missed:
        return missed
    library = " ".join(res.about().values())
    asked = facts_of(_ALIASES.sub(" ", question))
    absent = missing_facts(asked, " ".join(p.text for p in retrieval.passages) + " " + library)
    never = absent & missing_facts(asked, res.library_text()) if absent else set()
    if never:  # only what no document says; a fact the search missed is not grounds to refuse
        return f"the documents never mention {', '.join(sorted(never))}"
    passages = passages or retrieval.passages  # with a multi-part question's own searches added
    chosen = " ".join(passages[c.passage].text for c in composition.picks)
    unnamed = missing_facts(Facts(frozenset(), asked.names), chosen + " " + library)
    if unnamed:
        return f"the passages that come closest do not mention {', '.join(sorted(unnamed))}"
    return ""


def _refusal(base: Answer, passages: list, composition, res: "_Resources", reason: str) -> Answer:
    """The plain refusal, with the closest passages kept as citations so the reader can judge."""
    base.abstained = True
    base.answer = REFUSAL
    base.notices.append(f"refused: {reason}")
    base.sentences = [Sentence(REFUSAL, [], supported=True, support=0.0)]
    picks = composition.picks[:2] if composition else []
    numbering = Numbering()
    for pick in picks:
        passage = passages[pick.passage]
        n = numbering.number(_chunk_of(passage, pick.span.start, res), pick.span.start, pick.span.end)
        base.citations.append(_citation(n, passage, pick.span.text, pick.span.start, pick.span.end, 0.0, res))
    return base


# -- rendering and verification -------------------------------------------------------------------

def _render(base: Answer, drafted: list[tuple[str, list[int]]], passages: list, res: "_Resources",
            settings: Settings) -> Answer:
    """Number, quote and check every (sentence, cited passage indexes) pair of a draft answer."""
    numbering = Numbering()
    citations: dict[int, Citation] = {}
    pieces = []
    for text, cited in drafted:
        numbers, supports = [], []
        missing: set[str] | None = None
        for index in cited:
            passage = passages[index]
            verdict = check(text, passage.text, passage.start, res.encoder)
            chunk = _chunk_of(passage, verdict.quote.start, res)
            n = numbering.number(chunk, verdict.quote.start, verdict.quote.end)
            previous = citations.get(n)
            support = min(verdict.support, previous.support) if previous else verdict.support
            citations[n] = _citation(n, passage, verdict.quote.text, verdict.quote.start, verdict.quote.end, support, res)
            numbers.append(n)
            supports.append(verdict.support)
            missing = set(verdict.missing) if missing is None else missing & verdict.missing
        best = max(supports, default=0.0)
        supported = bool(numbers) and not missing and best >= settings.support_threshold
        base.sentences.append(Sentence(text, sorted(set(numbers)), supported, round(best, 3)))
        pieces.append(with_markers(text, sorted(set(numbers))))
    base.citations = [citations[n] for n in sorted(citations)]
    base.answer = " ".join(pieces)
    return base


def _parse_llm(text: str, passage_count: int) -> tuple[list[tuple[str, list[int]]], int]:
    """Sentences with the passage indexes they cite; markers outside 1..passage_count are dropped."""
    drafted, dropped = [], 0
    for sentence in split_marked(text):
        valid = [n - 1 for n in sentence.markers if 1 <= n <= passage_count]
        dropped += len(sentence.markers) - len(valid)
        drafted.append((sentence.text, valid))
    return drafted, dropped


def _says_refusal(text: str) -> bool:
    lowered = text.lower()
    return "do not answer" in lowered or "don't answer" in lowered or "does not answer" in lowered


def _marked_sentences(result: Answer) -> list[str]:
    return [with_markers(s.text, s.citations) for s in result.sentences]


def _citation(n: int, passage, quote: str, start: int, end: int, support: float, res: "_Resources") -> Citation:
    record = res.document(passage.doc_id)
    return Citation(n=n, chunk_id=_chunk_of(passage, start, res), doc_id=passage.doc_id, source=passage.source,
                    title=passage.title or (record.title if record else ""), author=record.author if record else "",
                    date=passage.date or (record.date if record else ""), quote=quote, start=start, end=end,
                    support=round(max(0.0, min(1.0, support)), 3), passage=passage.text,
                    passage_start=passage.start, page=passage.page)


def _chunk_of(passage, offset: int, res: "_Resources") -> str:
    """The stable id of the chunk a quote starts in, when a passage merges several chunks."""
    if len(passage.chunk_ids) == 1:
        return passage.chunk_ids[0]
    spans = res.chunk_spans(passage.chunk_ids)
    containing = [cid for cid in passage.chunk_ids if cid in spans and spans[cid][0] <= offset < spans[cid][1]]
    return containing[0] if containing else passage.chunk_ids[0]


def _finish(result: Answer, started: float) -> Answer:
    result.timings_ms["total"] = _ms(started)
    result.timings_ms = {name: round(ms, 1) for name, ms in result.timings_ms.items()}
    return result


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


# -- shared, cached resources ---------------------------------------------------------------------

@dataclass
class _Resources:
    """What every question needs, opened once per store: building them costs seconds.

    What is read from the store (document records, titles, full texts, chunk offsets) is reread
    together whenever the retriever's index fingerprint changes, i.e. after any ingest: chunk ids
    are positional, so an offset cached before a document changed would point at the wrong text.
    """

    settings: Settings
    retriever: object
    store: Store
    encoder: SentenceEncoder
    version: str = ""  # index fingerprint the caches below were read at
    documents: dict[str, DocRecord] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # doc id -> "title author"
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    text: str | None = None  # every document's text, read on first need

    def current(self) -> "_Resources":
        version = self.retriever.index.fingerprint
        if version != self.version:
            self.documents = self.store.documents()
            self.titles = {d: f"{r.title} {r.author}" for d, r in self.documents.items()}
            self.spans, self.text, self.version = {}, None, version
        return self

    def library_text(self) -> str:
        """All documents' text, so "never mentioned" is said only of what no document says."""
        self.current()
        if self.text is None:
            self.text = "\n".join(f"{self.titles[i]}\n{self.store.document_text(i)}" for i in self.documents)
        return self.text

    def document(self, doc_id: str) -> DocRecord | None:
        return self.current().documents.get(doc_id)

    def about(self) -> dict[str, str]:
        """Each document's title and author, which a question may name ("according to ...")."""
        return self.current().titles

    def chunk_spans(self, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        self.current()
        todo = [i for i in ids if i not in self.spans]
        for chunk in self.store.get_chunks(todo):
            self.spans[chunk.chunk_id] = (chunk.start, chunk.end)
        return self.spans


@lru_cache(maxsize=4)
def _resources(settings: Settings) -> _Resources:
    from vectorstore.hybrid import open_retriever

    return _Resources(settings, open_retriever(settings), Store(settings), _encoder(settings.embedding_model))


@lru_cache(maxsize=2)
def _encoder(model: str) -> SentenceEncoder:
    return SentenceEncoder(LocalEmbeddings(model))


def _rewriter(settings: Settings, backend: str) -> Callable[[str, Sequence[Turn]], str]:
    from chatbot import backends

    return backends.rewriter(backend, settings)
