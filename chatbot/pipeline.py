"""Question in, cited answer out: retrieve, compose, decide, draft, render.

Each step returns a new value and the steps run in one direction: retrieval finds passages, the
chooser (``compose``) picks the sentences that answer, ``policy`` decides whether to refuse, a
backend from the registry drafts the answer (an LLM, or the picks themselves), and ``render``
numbers and verifies the citations. An LLM failure becomes an extractive answer with a notice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from chatbot import backends, byline, compose
from chatbot.backends.extractive import quoted
from chatbot.chooser import Candidate, answer_entities, names_source
from chatbot.policy import Refusal, near_miss, never_mentioned, not_said, refusal, unanswered_part, unnamed_in
from chatbot.question import attributed_source
from chatbot.render import Rendered, marked_sentences, refusal_citations, render, with_markers
from chatbot.resources import Resources, resources
from chatbot.schema import Answer, AnswerSpan, Citation, Retrieved, Sentence
from prompts import load
from ragchat.settings import Settings
from ragchat.text.sentences import Span
from vectorstore.followups import swapped
from vectorstore.passages import Passage, passage_of
from vectorstore.request import RetrievalRequest
from vectorstore.retrieval import Retrieval
from vectorstore.store import doc_id_of


@dataclass(frozen=True)
class Evidence:
    """What an answer may be drawn from: the search, every passage found, and the chooser's picks."""

    retrieval: Retrieval
    passages: list[Passage]  # the retrieval's, then any a multi-part question's own searches added
    composition: compose.Composition | None  # None when nothing was retrieved


def answer(question: str, request: RetrievalRequest = RetrievalRequest(), *, settings: Settings | None = None,
           backend: str | None = None) -> Answer:
    """The complete answer; the same as the last item of ``stream_answer``."""
    result = None
    for result in stream_answer(question, request, settings=settings, backend=backend):
        pass
    assert isinstance(result, Answer)
    return result


def stream_answer(question: str, request: RetrievalRequest = RetrievalRequest(), *, settings: Settings | None = None,
                  backend: str | None = None) -> Iterator[str | Answer]:
    """Text pieces as they are produced (LLM tokens, or whole sentences), then the final ``Answer``.

    The pieces are for showing progress; the final ``Answer`` is authoritative: its citation
    numbers are renumbered and checked, and an LLM failure there becomes an extractive answer.
    """
    settings = settings or Settings.from_env()
    writer = backends.get(backend or settings.answer.backend)
    started = time.perf_counter()
    res = resources(settings)
    rewriter = writer.rewriter(settings) if request.history else None
    retrieval = res.retriever.retrieve(question, _attributed(question, request, res), rewriter=rewriter)
    timings = {f"retrieve_{name}" if not name.startswith("retriev") else name: ms
               for name, ms in retrieval.timings_ms.items()}
    # "And in 2024?" is answered, and refused, as the whole question it stands for
    asked = retrieval.query if request.history and swapped(question) else question
    t = time.perf_counter()
    cited = dict.fromkeys(doc_id_of(c) for c in request.history[-1].cited_chunk_ids) if request.history else {}
    found = byline.bylines(asked, res.current().documents, res.document_text, [p.doc_id for p in retrieval.passages],
                           list(cited))
    if found is not None:  # "who wrote <title>?": the documents' own records answer, not their passages
        result = _from_bylines(_base(question, retrieval, retrieval.passages, "extractive"), found, res, settings)
        timings["compose"] = _ms(t)
        yield result.answer
        yield _finish(result, timings, started)
        return
    evidence = gather(asked, request, retrieval, res, settings)
    timings["compose"] = _ms(t)
    base = _base(question, retrieval, evidence.passages, writer.name)
    refused = refusal(asked, retrieval, evidence.composition, evidence.passages, res.model, res.about(),
                      res.unmentioned, res.document_text)
    if refused is not None:
        result = _refusal(base, evidence, res, refused)
        yield result.answer
        yield _finish(result, timings, started)
        return

    picks = evidence.composition.picks
    draft, notices, shown = None, [], False
    t = time.perf_counter()
    try:
        for item in writer.draft(backends.DraftRequest(question, request.history, evidence.passages, picks, settings)):
            if isinstance(item, backends.Draft):
                draft = item
            else:
                shown = True
                yield item
    except backends.BackendError as exc:
        notices.append(f"{writer.name} backend failed ({exc}); answered extractively instead")
        base = dataclasses.replace(base, backend="extractive")
        if shown:  # what the model wrote before it failed is not the answer: set it apart from the one that follows
            yield f"\n\n[{notices[-1]}]\n\n"
    if draft is None or draft.streamed:  # a model wrote (or failed to write) the answer
        timings["generate"] = _ms(t)
    if draft is not None:
        notices.extend(draft.notices)
    if draft is not None and draft.refused:
        said = Refusal("the model found no answer in the passages", near_miss(asked), True)
        result = _refusal(dataclasses.replace(base, dropped_markers=draft.dropped_markers,
                                              notices=[*base.notices, *notices]), evidence, res, said)
        yield _finish(result, timings, started)
        return
    extractive = base.backend == "extractive"  # the picks verbatim: by choice, or because the LLM failed
    draft = draft or quoted(picks)
    t = time.perf_counter()
    rendered = render(draft.sentences, evidence.passages, res, settings.answer,
                      [c.probability for c in picks] if extractive else None)
    timings["verify"] = _ms(t)
    result = _answered(base, rendered, draft.dropped_markers, notices)
    if extractive:
        result = _with_span(result, evidence.composition)
        result = _say_uncovered(result, evidence.composition.uncovered)
    if not draft.streamed:
        for marked in marked_sentences(result.sentences):
            yield marked + " "
    yield _finish(result, timings, started)


def _attributed(question: str, request: RetrievalRequest, res: Resources) -> RetrievalRequest:
    """"According to Taut Bataut, ...?" asks what Taut Bataut's documents say: when the source it
    names is a document's author, the search is limited to that author's documents, as if the user
    had chosen them. A library-wide search ranks another writer's sentence on the same subject as
    high, and quoting it would answer for the wrong source. A source that is no author ("according
    to Afghanistan") leaves the search alone, as does a user's own choice of documents."""
    source = attributed_source(question)
    if not source or request.docs is not None:
        return request
    written = tuple(doc for doc, record in res.current().documents.items()
                    if record.author and names_source(source, record.author))
    return dataclasses.replace(request, docs=written) if written else request


def gather(question: str, request: RetrievalRequest, retrieval: Retrieval, res: Resources,
           settings: Settings) -> Evidence:
    """The retrieval's passages and the chooser's picks from them, part by part for a multi-part question."""
    passages = list(retrieval.passages)
    if not passages:
        return Evidence(retrieval, passages, None)
    whole = _compose(question, retrieval, res, settings)
    composition, passages = _compose_parts(question, request, whole, passages, res, settings)
    return Evidence(retrieval, passages, composition)


def _compose(question: str, retrieval: Retrieval, res: Resources, settings: Settings) -> compose.Composition:
    return compose.compose(question, retrieval.query, retrieval.passages, res.sentence_models, res.model,
                           settings.compose, strength=retrieval.strength, about=res.about(), unmentioned=res.unmentioned,
                           idf=res.retriever.index.idf)


def _compose_parts(question: str, request: RetrievalRequest, whole: compose.Composition, passages: list[Passage],
                   res: Resources, settings: Settings) -> tuple[compose.Composition, list[Passage]]:
    """For a question asking several things, each part's answer sentences, each from its own search.

    "How many attacks in 2023 and how many in 2024?" is two questions; answered as one, its best
    sentence answers one part and the rest of the answer repeats that part. Each part is searched
    separately (the passages it brings are added, so they can be cited) and answered as a question
    of its own: its leading sentence if the chooser judges that it answers the part (and the part
    names nothing that no document mentions, and the sentence states what the part asks: the
    policy's checks of a near miss, part by part), then the sentences its composition picks beside
    the lead, as many as the part asked alone would quote: the lead of "which Afghan district was
    struck in December?" can be the sentence about the raids, with the district in a later pick.
    Parts come in the order they were asked; a part nothing answers is named in ``uncovered``, so
    the answer says what it leaves out instead of refusing the whole. The whole question's picks
    stand only if no part is answered.
    """
    parts = whole.analysis.parts if whole.analysis else (question,)
    if len(parts) < 2:
        return whole, passages
    passages = list(passages)
    seen = {(p.doc_id, p.start, p.end): i for i, p in enumerate(passages)}
    picks: list[Candidate] = []
    uncovered: list[str] = []
    span = None
    titles = " ".join(res.about().values())
    for part in parts:
        found = res.retriever.retrieve(part, _attributed(part, request, res))
        place = {}
        for p in found.passages:
            key = (p.doc_id, p.start, p.end)
            if key not in seen:
                seen[key] = len(passages)
                passages.append(p)
            place[len(place)] = seen[key]
        composed = _compose(part, found, res, settings) if found.passages else None
        chosen = {(passages[c.passage].doc_id, c.span.start) for c in picks}
        ranked = composed.ranked if composed else []
        lead = next((c for c in ranked if (found.passages[c.passage].doc_id, c.span.start) not in chosen), None)
        # the part names nothing that no document mentions: the policy's check, once for both sentences below
        named = not never_mentioned(part, " ".join(p.text for p in found.passages) + " " + titles, res.unmentioned)
        if not named or not _answers_part(lead, found, composed, res):
            quoted = ranked[0] if ranked and ranked[0] is not lead else None  # the best sentence, an earlier part's
            if not named or quoted is None or not _holds_answer(part, quoted, found, composed, res, titles):
                uncovered.append(part)
            continue
        beside = [c for c in composed.picks
                  if c is not lead and (found.passages[c.passage].doc_id, c.span.start) not in chosen]
        for c in [lead, *beside]:
            picks.append(dataclasses.replace(c, passage=place[c.passage]))
            if span is None and composed.span is not None and c.span.start <= composed.span.start \
                    and composed.span.end <= c.span.end:
                span = composed.span
    if not picks:
        return whole, passages
    return dataclasses.replace(whole, picks=picks, evidence=max(c.probability for c in picks), span=span,
                               uncovered=uncovered), passages


def _answers_part(lead: Candidate | None, found: Retrieval, composed: compose.Composition | None,
                  res: Resources) -> bool:
    """The part's leading sentence answers it: the chooser says so, and the sentence states what the
    part asks (the policy's near-miss checks)."""
    return lead is not None and res.model.answers(lead.probability, found.strength) and not (
        composed.analysis is not None and unanswered_part(composed.analysis, [lead.span.text]))


def _holds_answer(part: str, quoted: Candidate, found: Retrieval, composed: compose.Composition, res: Resources,
                  titles: str) -> bool:
    """The sentence already quoted for an earlier part answers this one too: "... a pilot installing
    1,500 smart meters ..." for "which supplier ..., and how many meters will it install?". Only for
    a part asking a thing of a kind the sentence holds (a figure, a name the tagger found, not the
    question's own), whose names its passage has: "... and who will install the meters?" is not
    answered by the "Director of Operations" proposing them, nor "what will each cost?" by a total."""
    analysis = composed.analysis
    return analysis is not None and analysis.typed and _answers_part(quoted, found, composed, res) \
        and bool(answer_entities(analysis, [e for e in quoted.entities if e.label != "PROPER"], quoted.span.text)) \
        and not unnamed_in(part, found.passages[quoted.passage].text + " " + titles)


def _base(question: str, retrieval: Retrieval, passages: Sequence[Passage], backend: str) -> Answer:
    """The answer's frame before any sentence is chosen: what was asked and what the search found."""
    return Answer(question=question, answer="", abstained=False, backend=backend, strength=round(retrieval.strength, 3),
                  query=retrieval.query,
                  retrieved=[Retrieved(p.chunk_ids[0], p.source, round(float(p.score), 4)) for p in passages])


def _from_bylines(base: Answer, found: Sequence[byline.Byline], res: Resources, settings: Settings) -> Answer:
    """"Who wrote / who published / when was <title> published?" answered with each document's line
    stating it, the first value as the short answer; with the records' values and no citation when
    only the files' metadata states them; with a refusal when the document referred to names none."""
    if not any(b.value for b in found):  # "Who wrote it?" of a document that names no author
        said = not_said(base.question)
        return dataclasses.replace(base, abstained=True, answer=said, sentences=[Sentence(said, [], True, 0.0)],
                                   notices=[f'refused: "{found[0].record.label}" names no {found[0].field}'])
    quoted = [b for b in found if b.line is not None and b.mention is not None]
    unstated = [b for b in found if b not in quoted and b.value]
    lines: dict[tuple[str, int], byline.Byline] = {}
    for b in quoted:  # one line often states two fields ("Author: Taut Bataut 11.06.2024"): it is quoted once
        lines.setdefault((b.record.doc_id, b.line.start), b)
    stated = list(lines.values())
    told = [Sentence(load("byline_metadata").format(title=b.record.label, field=b.field, value=b.value), [], False, 0.0)
            for b in unstated]
    metadata = [f"answered from the files' metadata ({_fields(unstated)})"] if told else []
    if not stated:
        return dataclasses.replace(base, answer=" ".join(t.text for t in told), sentences=told, notices=metadata)
    passages = [_passage_holding(b.record.doc_id, b.line, res) for b in stated]
    rendered = render([(b.line.text, [i]) for i, b in enumerate(stated)], passages, res, settings.answer)
    result = _answered(base, rendered, 0, [load("byline").format(
        titles=", ".join(dict.fromkeys(f'"{b.record.label}"' for b in stated)),
        field=_fields(quoted))] + metadata)
    mention = stated[0].mention
    return dataclasses.replace(result, answer=" ".join([result.answer.rstrip()] + [t.text for t in told]),
                               sentences=result.sentences + told,
                               answer_span=AnswerSpan(mention.text, mention.start, mention.end,
                                                      rendered.sentences[0].citations[0], 0))


def _fields(found: Sequence[byline.Byline]) -> str:
    return " and ".join(dict.fromkeys(b.field for b in found))


def _passage_holding(doc_id: str, span: Span, res: Resources) -> Passage:
    """The passage of the document's chunks that hold the span, looked up rather than found by a search."""
    group = [c for c in res.store.chunks_of([doc_id])[doc_id] if c.start < span.end and span.start < c.end]
    unsearched = dict.fromkeys((c.chunk_id for c in group), 0.0)
    return passage_of(group, res.document_text(doc_id), unsearched, unsearched)


def _refusal(base: Answer, evidence: Evidence, res: Resources, refused: Refusal) -> Answer:
    """The refusal, with the closest passages kept as citations so the reader can judge.

    A near miss quotes the closest sentence after saying what is not there; "nothing in the
    library is about this" only lists the closest passages among its sources.
    """
    picks = evidence.composition.picks[:2] if evidence.composition else []
    if refused.near_miss and picks:
        nearest = compose.closest(evidence.composition, res.settings.compose)
        picks = [nearest, *[p for p in picks if p is not nearest]][:2]
    citations = refusal_citations([(evidence.passages[p.passage], p.span) for p in picks], res)
    sentences = [Sentence(refused.reply, [], supported=True, support=0.0)]
    if refused.near_miss and picks:
        closest = picks[0]
        sentences.append(Sentence(closest.span.text, [citations[0].n], supported=True, support=1.0,
                                  answers=round(closest.probability, 3)))
    return dataclasses.replace(
        base, abstained=True, answer=" ".join(with_markers(s.text, s.citations) for s in sentences),
        notices=[*base.notices, f"refused: {refused.reason}", *_instruction_notice(citations)],
        sentences=sentences, citations=citations)


def _with_span(result: Answer, composition: compose.Composition) -> Answer:
    """The short answer phrase, pointing at the sentence and the citation that hold it."""
    span = composition.span
    if span is None:
        return result
    for i, (pick, sentence) in enumerate(zip(composition.picks, result.sentences)):
        if pick.span.start <= span.start and span.end <= pick.span.end and sentence.citations:
            return dataclasses.replace(result, answer_span=AnswerSpan(span.text, span.start, span.end,
                                                                      sentence.citations[0], i))
    return result


def _say_uncovered(result: Answer, parts: Sequence[str]) -> Answer:
    """Name each part of a multi-part question that no sentence answers, after the parts that are answered."""
    said = [not_said(part) for part in parts]
    if not said:
        return result
    return dataclasses.replace(
        result, answer=" ".join([result.answer, *said]),
        sentences=[*result.sentences, *(Sentence(text, [], supported=True, support=0.0) for text in said)],
        notices=[*result.notices, *(f"not covered: {part}" for part in parts)])


def _answered(base: Answer, rendered: Rendered, dropped_markers: int, notices: Sequence[str]) -> Answer:
    return dataclasses.replace(base, answer=rendered.answer, sentences=rendered.sentences,
                               citations=rendered.citations, dropped_markers=dropped_markers,
                               notices=[*base.notices, *notices, *_instruction_notice(rendered.citations)])


def _instruction_notice(citations: Sequence[Citation]) -> list[str]:
    """One notice naming the cited passages that hold text addressed to an AI model, if any do."""
    flagged = [f"[{c.n}]" for c in citations if c.instruction_like]
    where = f"passage{'s' if len(flagged) > 1 else ''} {', '.join(flagged)}"
    return [load("instruction_like").format(where=where)] if flagged else []


def _finish(result: Answer, timings: dict[str, float], started: float) -> Answer:
    timings = {**timings, "total": _ms(started)}
    return dataclasses.replace(result, timings_ms={name: round(ms, 1) for name, ms in timings.items()})


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
