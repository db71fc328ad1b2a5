"""From drafted sentences to what a reader checks: [n] markers, numbered citations, verified quotes.

Every backend ends here with a list of sentences, each pointing at passages. ``render`` numbers
citations in order of first use (one number per quote, bound to a stable chunk id), picks and
checks each quote, and flags sentences their passages do not back, so an LLM answer and an
extractive one are held to one standard. Quote offsets are the point: a quote is only checkable if
``document[start:end]`` gives it back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from chatbot.resources import Resources
from chatbot.schema import Citation, Sentence
from chatbot.verify import check
from ragchat.settings import AnswerSettings
from ragchat.text.instructions import instruction_spans
from ragchat.text.sentences import SENTENCE_STOP, Span, split_sentences, stop_never_ends_sentence
from vectorstore.passages import Passage

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_DOUBLED_STOP = re.compile(r"(?<!\.)\.\.$")


@dataclass(frozen=True)
class MarkedSentence:
    text: str  # without markers
    markers: list[int]  # in the order written, duplicates removed


def split_marked(answer: str) -> list[MarkedSentence]:
    """An LLM answer as sentences with the [n] markers each one carries.

    Models write both "... 789 attacks [1]." and "... 789 attacks. [1]"; markers after the full
    stop are moved before it so they stay with the sentence they follow, not the next one.
    """
    normalised = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", answer)
    result = []
    for span in split_sentences(normalised):
        markers: list[int] = []
        for group in MARKER.findall(span.text):
            for n in re.split(r"\s*[,;]\s*", group):
                if int(n) not in markers:
                    markers.append(int(n))
        # "4:00 p.m. [2]." loses its marker: the abbreviation's full stop ends the sentence too
        text = _DOUBLED_STOP.sub(".", _SPACE_BEFORE_PUNCT.sub(r"\1", MARKER.sub("", span.text)).strip())
        if text:
            result.append(MarkedSentence(text, markers))
    return result


@dataclass
class Numbering:
    """Citation numbers in order of first use, one per quote, each bound to a stable chunk id.

    Two sentences quoting different parts of one chunk get two numbers, so every [n] leads to the
    very quote behind its sentence; citing the same quote again reuses its number.
    """

    by_quote: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def number(self, chunk_id: str, start: int, end: int) -> int:
        return self.by_quote.setdefault((chunk_id, start, end), len(self.by_quote) + 1)


def with_markers(text: str, numbers: list[int]) -> str:
    """A sentence with its markers placed before the final punctuation, as readers expect."""
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    body = text.rstrip()
    stop = SENTENCE_STOP.search(body)
    if stop and stop.group().startswith(".") and stop_never_ends_sentence(body):
        return f"{body} {marks}."  # "open until 4:00 p.m. [2].": the abbreviation keeps its full stop
    if stop:
        return f"{body[: stop.start()]} {marks}{body[stop.start():]}"
    if re.search(r"[\w\"'”’)\]]$", body):  # a post or a heading: a full stop keeps the next sentence apart
        return f"{body} {marks}."
    return f"{body} {marks}"


@dataclass(frozen=True)
class Rendered:
    answer: str  # the sentences with their [n] markers
    sentences: list[Sentence]
    citations: list[Citation]


def render(drafted: Sequence[tuple[str, Sequence[int]]], passages: Sequence[Passage], res: Resources,
           config: AnswerSettings, answers: Sequence[float] | None = None) -> Rendered:
    """Number, quote and check every (sentence, cited passage indexes) pair of a draft answer.

    ``answers`` are the chooser's probabilities that each drafted sentence answers the question
    (extractive answers only): verified support says the quote is in the source, this says it answers.
    """
    numbering = Numbering()
    citations: dict[int, Citation] = {}
    sentences, pieces = [], []
    for i, (text, cited) in enumerate(drafted):
        numbers, supports = [], []
        missing: set[str] | None = None
        for index in cited:
            passage = passages[index]
            verdict = check(text, passage.text, passage.start, res.encoder, config)
            chunk = chunk_of(passage, verdict.quote.start, res)
            n = numbering.number(chunk, verdict.quote.start, verdict.quote.end)
            previous = citations.get(n)
            support = min(verdict.support, previous.support) if previous else verdict.support
            citations[n] = citation(n, passage, verdict.quote, support, res)
            numbers.append(n)
            supports.append(verdict.support)
            missing = set(verdict.missing) if missing is None else missing & verdict.missing
        best = max(supports, default=0.0)
        supported = bool(numbers) and not missing and best >= config.support_threshold
        sentences.append(Sentence(text, sorted(set(numbers)), supported, round(best, 3),
                                  round(answers[i], 3) if answers is not None else None))
        pieces.append(with_markers(text, sorted(set(numbers))))
    return Rendered(" ".join(pieces), sentences, [citations[n] for n in sorted(citations)])


def refusal_citations(quotes: Sequence[tuple[Passage, Span]], res: Resources) -> list[Citation]:
    """The closest passages shown under a refusal: numbered like citations, backing no claim (support 0)."""
    numbering = Numbering()
    result = []
    for passage, span in quotes:
        n = numbering.number(chunk_of(passage, span.start, res), span.start, span.end)
        result.append(citation(n, passage, span, 0.0, res))
    return result


def marked_sentences(sentences: Sequence[Sentence]) -> list[str]:
    return [with_markers(s.text, s.citations) for s in sentences]


def citation(n: int, passage: Passage, quote: Span, support: float, res: Resources) -> Citation:
    record = res.document(passage.doc_id)
    return Citation(n=n, chunk_id=chunk_of(passage, quote.start, res), doc_id=passage.doc_id, source=passage.source,
                    title=passage.title or (record.title if record else ""), author=record.author if record else "",
                    date=passage.date or (record.date if record else ""), quote=quote.text, start=quote.start,
                    end=quote.end, support=round(max(0.0, min(1.0, support)), 3), passage=passage.text,
                    passage_start=passage.start, page=passage.page, instruction_like=bool(instruction_spans(passage.text)))


def chunk_of(passage: Passage, offset: int, res: Resources) -> str:
    """The stable id of the chunk a quote starts in, when a passage merges several chunks."""
    if len(passage.chunk_ids) == 1:
        return passage.chunk_ids[0]
    spans = res.chunk_spans(passage.chunk_ids)
    containing = [cid for cid in passage.chunk_ids if cid in spans and spans[cid][0] <= offset < spans[cid][1]]
    return containing[0] if containing else passage.chunk_ids[0]
