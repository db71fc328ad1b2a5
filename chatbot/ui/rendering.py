"""Pure helpers behind the chat app: safe rendering, exports, feedback, upload checks.

Everything that touches document or user text lives here so it can be unit-tested without a
browser. The rule is simple: document and user text only ever reaches the page escaped, either as
markdown whose every special character is backslash-escaped, or as HTML built with ``html.escape``
around each piece of text and no tags but our own.
"""

from __future__ import annotations

import html
import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from chatbot.schema import Answer, Citation
from prompts import load
from ragchat.text.sentences import SENTENCE_STOP

QUOTE_ID = "ragchat-quote"
# Under a passage that holds text addressed to an AI model (``Citation.instruction_like``).
INSTRUCTION_NOTE = load("instruction_like").format(where="this passage")

# The app's only stylesheet; class names are ours, never taken from text.
STYLE = """<style>
.rc-answer { line-height: 1.6; }
.rc-marker { color: #1f5fbf; font-weight: 600; white-space: nowrap; }
.rc-flagged { text-decoration: underline wavy #d9822b; text-underline-offset: 3px; }
.rc-flag { color: #b35c00; font-size: 0.85em; }
.rc-passage { white-space: pre-wrap; font-size: 0.92em; color: #333; background: #f7f7f9;
  border-left: 3px solid #c9c9d6; padding: 0.5em 0.8em; margin: 0.2em 0 0.4em 0; }
.rc-passage mark, .rc-document mark { background: #ffe566; padding: 0 1px; }
.rc-document { white-space: pre-wrap; max-height: 60vh; overflow-y: auto; padding: 0.5em 1em;
  border: 1px solid #ddd; border-radius: 6px; font-size: 0.95em; }
.rc-source { font-weight: 600; }
.rc-meta { color: #666; font-size: 0.88em; }
.rc-badge { display: inline-block; border-radius: 0.6em; padding: 0 0.5em; font-size: 0.8em; color: white; }
.rc-badge-verbatim, .rc-badge-supported { background: #1f5fbf; }
.rc-badge-weak { background: #d9822b; }
.rc-badge-unsupported { background: #c62828; }
.rc-badge-instruction { background: #6a1b9a; }
.rc-badge-answers { background: #2e8540; }
.rc-badge-unsure { background: #8a8a8a; }
</style>"""

_MARKDOWN_SPECIALS = set(string.punctuation) - set("&<>\"'")


def escape_markdown(text: str) -> str:
    """Text that Streamlit's markdown shows literally: no links, emphasis, HTML, colours or LaTeX.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows that for all of
    them), and the HTML-significant ones become entities, so ``<script>`` and ``[x](http://evil)``
    appear as typed.
    """
    out = []
    for ch in text:
        if ch in "&<>\"'":
            out.append(html.escape(ch))
        elif ch in _MARKDOWN_SPECIALS:
            out.append("\\" + ch)
        else:
            out.append(ch)
    # A single newline is a soft break in markdown; keep the writer's line breaks.
    return "".join(out).replace("\n", "  \n")


# A heading line as ingest stores it ("## Attendance", from Markdown, HTML or Word) and as a page shows it.
_HEADING_LINE = re.compile(r"^#{1,6} (?=\S)(.*)$", re.M)


def highlight_html(text: str, start: int, end: int, mark_id: str = "") -> str:
    """``text`` escaped, with ``text[start:end]`` inside our own ``<mark>``, and its heading lines in
    bold without their "#" marks."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if end <= start:
        return _headings(html.escape(text))
    ident = f' id="{mark_id}"' if mark_id else ""
    return (f"{_headings(html.escape(text[:start]))}<mark{ident}>{html.escape(text[start:end])}</mark>"
            f"{_headings(html.escape(text[end:]))}")


def _headings(escaped: str) -> str:
    return _HEADING_LINE.sub(r"<strong>\1</strong>", escaped)


def quote_span(citation: Citation) -> tuple[int, int]:
    """Where the quote sits inside its passage; offsets first, text search if they disagree."""
    start = citation.start - citation.passage_start
    end = citation.end - citation.passage_start
    if 0 <= start < end <= len(citation.passage) and citation.passage[start:end] == citation.quote:
        return start, end
    found = citation.passage.find(citation.quote) if citation.quote else -1
    return (found, found + len(citation.quote)) if found >= 0 else (0, 0)


_BADGE_WORDS = {"verbatim": "quoted verbatim", "answers": "answers the question", "unsure": "may not answer"}


def support_label(support: float, threshold: float, verbatim: bool = False) -> str:
    """Is the quote in the source: "verbatim" when the sentences citing it are quoted word for word,
    else the verifier's score: at or above the threshold it flags sentences at is "supported"; the
    band just below it is "weak" (related, but not clearly saying the same). None of these says
    that the sentence answers the question; ``answers_label`` does."""
    if verbatim:
        return "verbatim"
    if support >= threshold:
        return "supported"
    return "weak" if support >= threshold / 2 else "unsupported"


def answers_label(answers: float | None, threshold: float) -> str:
    """The chooser's verdict, kept apart from quoting: "answers" (the only green badge) or "unsure";
    "" for sentences the chooser did not score (an LLM's)."""
    if answers is None:
        return ""
    return "answers" if answers >= threshold else "unsure"


def citation_answers(answer: Answer, n: int) -> float | None:
    """The best chooser probability among the answer's sentences that cite [n]."""
    scores = [s.answers for s in answer.sentences if n in s.citations and s.answers is not None]
    return max(scores) if scores else None


def quoted_verbatim(answer: Answer, citation: Citation) -> bool:
    """Every sentence citing it is word for word in its quote (so nothing can be misquoted)."""
    citing = [s.text for s in answer.sentences if citation.n in s.citations]
    return bool(citing) and all(text in citation.quote for text in citing)


def answer_html(answer: Answer) -> str:
    """The answer with its [n] markers, sentences the verifier did not back visibly flagged."""
    if not answer.sentences:
        return f'<div class="rc-answer">{html.escape(answer.answer)}</div>'
    parts = []
    for i, sentence in enumerate(answer.sentences):
        markers = "".join(f'<span class="rc-marker">[{n}]</span>' for n in sentence.citations)
        span = answer.answer_span
        text = _with_span(sentence.text, span.text if span is not None and span.sentence == i else "")
        if markers and not SENTENCE_STOP.search(sentence.text.rstrip()):
            markers += "."  # a list item or heading quoted as it is: the stop keeps the next sentence apart
        if sentence.supported:
            parts.append(f"{text}{' ' if markers else ''}{markers}")
        else:
            parts.append(f'<span class="rc-flagged" title="The cited passages do not clearly back this sentence">'
                         f'{text}</span>{" " if markers else ""}{markers} <span class="rc-flag">(not verified)</span>')
    return f'<div class="rc-answer">{" ".join(parts)}</div>'


def _with_span(text: str, span: str) -> str:
    """The sentence escaped, with the short answer phrase in bold."""
    at = text.find(span) if span else -1
    if at < 0:
        return html.escape(text)
    return f"{html.escape(text[:at])}<strong>{html.escape(span)}</strong>{html.escape(text[at + len(span):])}"


def citation_html(citation: Citation, badge: str = "", answers: str = "") -> str:
    """One entry of the sources block: who said it, when, and the quote inside its passage.

    ``badge`` is a ``support_label`` (is the quote in the source), ``answers`` an ``answers_label``
    (does it answer the question); passages shown under a refusal cite nothing, so get neither.
    """
    meta = [m for m in (citation.author, citation.date, citation.source if citation.title else "",
                        f"page {citation.page}" if citation.page else "") if m]
    start, end = quote_span(citation)
    badge_html = " ".join(f'<span class="rc-badge rc-badge-{b}">{_BADGE_WORDS.get(b, b)}</span>'
                          for b in (badge, answers) if b)
    if citation.instruction_like:
        badge_html += ' <span class="rc-badge rc-badge-instruction">instructions to an AI inside</span>'
    note = f'<br><span class="rc-flag">{html.escape(INSTRUCTION_NOTE)}</span>' if citation.instruction_like else ""
    return (f'<div><span class="rc-marker">[{citation.n}]</span> '
            f'<span class="rc-source">{html.escape(citation.title or citation.source)}</span> '
            f'{badge_html}<br>'
            f'<span class="rc-meta">{html.escape(" · ".join(meta) or "author and date unknown")}</span>'
            f'{note}'
            f'<div class="rc-passage">{highlight_html(citation.passage, start, end)}</div></div>')


def document_html(text: str, start: int, end: int) -> str:
    """A whole cleaned document with the quote marked, for the "Open in document" view."""
    return f'<div class="rc-document">{highlight_html(text, start, end, QUOTE_ID)}</div>'


SCROLL_TO_QUOTE = (f"<script>setTimeout(() => document.getElementById('{QUOTE_ID}')"
                   f"?.scrollIntoView({{block: 'center'}}), 200);</script>")


# -- what the library holds -------------------------------------------------------------------

def collection_summary(records: Sequence) -> str:
    """One line for an empty chat: how much is there, from when, and what it is about."""
    if not records:
        return "The library is empty: add documents in the sidebar to start asking questions."
    dates = sorted(r.date for r in records if r.date)
    span = f", dated {dates[0][:4]}–{dates[-1][:4]}" if dates and dates[0][:4] != dates[-1][:4] else \
        (f", dated {dates[0][:4]}" if dates else "")
    about = _manifest_about(records)
    chunks = sum(r.chunks for r in records)
    head = f"{len(records)} document{'s' if len(records) != 1 else ''} ({chunks} passages{span})"
    return f"{head}: {about}" if about else f"{head}."


def _manifest_about(records: Sequence) -> str:
    """The corpus's own description, when all documents come from one folder that has one."""
    folders = {Path(r.path).parent for r in records}
    if len(folders) != 1:
        return ""
    try:
        about = str(json.loads((folders.pop() / "manifest.json").read_text("utf-8")).get("about", "")).strip()
    except (OSError, ValueError, AttributeError):
        return ""
    return re.split(r"(?<=[.!?])\s", about, maxsplit=1)[0]  # the rest is usually notes for maintainers


def example_questions(records: Sequence, questions_path: Path, limit: int = 5) -> list[str]:
    """Questions a newcomer can click: broad benchmark questions the library can answer first.

    Benchmark questions are written against known documents, so only those whose sources are all
    in the store are offered; follow-ups make no sense in an empty chat. Without a benchmark the
    document titles give the questions.
    """
    present = {r.source for r in records}
    rank = {"broad": 0, "factual": 1, "numeric": 2, "multi_doc": 3}
    candidates = []
    try:
        lines = questions_path.read_text("utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        q = json.loads(line)
        if q.get("answerable") and q.get("type") in rank and q.get("sources") and set(q["sources"]) <= present:
            candidates.append((rank[q["type"]], len(q["question"]), q["question"]))
    picked = [q for *_, q in sorted(candidates)][:limit]
    if picked:
        return picked
    return [f"What is “{r.title}” about?" for r in records if r.title][:limit]


# -- exports and feedback ---------------------------------------------------------------------

def conversation_markdown(answers: Iterable[Answer], threshold: float) -> str:
    """The conversation for a reader: each answer, then its sources with quotes and offsets.

    Every piece of question, answer, notice, metadata and quote goes through ``escape_markdown``,
    as on the page: an exported quote holding ``<script>`` must stay text in any Markdown viewer.
    Headings, list items and block quotes are one line each, so their text is put on one line first.
    """
    lines = ["# ragchat conversation", ""]
    for turn, answer in enumerate(answers, 1):
        lines += [f"## {turn}. {_inline(answer.question)}", ""]
        lines += [("*Refused:* " if answer.abstained else "") + escape_markdown(answer.answer), ""]
        lines += [f"_Note: {_inline(notice)}_" for notice in answer.notices]
        if answer.notices:
            lines.append("")
        if answer.citations:
            lines += [f"{load('closest_passages')}:" if answer.abstained else "Sources:", ""]
        for c in answer.citations:
            who = ", ".join(x for x in (c.author, c.date) if x)
            verdict = "" if answer.abstained else f", {support_label(c.support, threshold)} ({c.support:.2f})"
            flag = ", holds instructions to an AI model" if c.instruction_like else ""
            lines.append(f"- \\[{c.n}\\] {_inline(c.title or c.source)}{f' ({_inline(who)})' if who else ''}, "
                         f"{_inline(c.source)}, characters {c.start}–{c.end}{verdict}{flag}")
            lines.append(f"  > {_inline(c.quote)}")
        lines.append("")
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Text on one line (a heading, list item or quote ends at a newline), then escaped."""
    return escape_markdown(" ".join(text.split()))


def conversation_json(answers: Iterable[Answer]) -> str:
    """The conversation for a program: every Answer in full, as the evaluator reads them."""
    return json.dumps({"exported_at": _now(), "turns": [a.to_json() for a in answers]}, indent=2, ensure_ascii=False)


def feedback_record(answer: Answer, thumbs_up: bool) -> dict:
    return {"time": _now(), "rating": "up" if thumbs_up else "down", "question": answer.question,
            "answer": answer.answer, "abstained": answer.abstained, "backend": answer.backend,
            "citations": [{"n": c.n, "source": c.source, "title": c.title, "quote": c.quote,
                           "start": c.start, "end": c.end, "support": c.support} for c in answer.citations]}


def append_feedback(path: Path, record: Mapping) -> None:
    """One JSON object per line, appended, so concurrent tabs never rewrite each other's lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

