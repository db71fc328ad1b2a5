"""The answer as every consumer sees it: CLI ``--json``, the chat app, exports and the evaluator.

One shape for all of them, so a number an evaluator reads is the number an analyst can click.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from vectorstore.request import Turn


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker shown in the answer, numbered in order of first use
    chunk_id: str
    doc_id: str
    source: str  # file name
    title: str
    author: str
    date: str
    quote: str  # verbatim text of the cleaned document: document_text[start:end]
    start: int
    end: int
    support: float  # in [0, 1]: how well the quote backs the sentences that cite it
    passage: str  # the whole retrieved passage the quote sits in, for context
    passage_start: int  # offset of ``passage`` in the cleaned document
    page: int = 0  # 1-based PDF page, 0 when the format has no pages
    # The passage holds sentences written to an AI model ("ignore previous instructions ..."): they
    # are shown as text and never counted as support (ragchat.text.instructions).
    instruction_like: bool = False


@dataclass(frozen=True)
class Sentence:
    text: str  # without markers
    citations: list[int]
    supported: bool  # its citations back it (for a verbatim quote: the quote is in the source)
    support: float = 0.0
    answers: float | None = None  # the chooser's probability that it answers the question; None for an LLM's


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer phrase ("789", "2014") inside an answer sentence: ``document[start:end] == text``."""

    text: str
    start: int  # offsets in the cleaned document of the cited source
    end: int
    citation: int  # the [n] of the quote it sits in
    sentence: int  # index into Answer.sentences


@dataclass(frozen=True)
class Retrieved:
    chunk_id: str
    source: str
    score: float


@dataclass
class Answer:
    question: str
    answer: str  # plain text with inline [n] markers
    abstained: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    retrieved: list[Retrieved] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # e.g. "LLM unreachable; answered extractively"
    strength: float = 0.0  # evidence strength of the best passage, in [0, 1]
    query: str = ""  # the standalone query that was searched (differs for follow-ups)
    dropped_markers: int = 0  # [n] markers an LLM wrote that pointed at no passage
    answer_span: AnswerSpan | None = None  # the short answer of a typed question, when one was found

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        data = dict(data)
        data["citations"] = [Citation(**c) for c in data.get("citations", [])]
        data["sentences"] = [Sentence(**s) for s in data.get("sentences", [])]
        data["retrieved"] = [Retrieved(**r) for r in data.get("retrieved", [])]
        data["answer_span"] = AnswerSpan(**data["answer_span"]) if data.get("answer_span") else None
        return cls(**data)


def turn_of(result: Answer) -> Turn:
    """The history entry for a finished answer, so follow-ups can point back at what it cited."""
    return Turn(question=result.question, answer=result.answer,
                cited_chunk_ids=tuple(dict.fromkeys(c.chunk_id for c in result.citations)))
