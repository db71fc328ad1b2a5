"""The answer in a terminal: streamed text, then the sources a reader can check, then any flags.

``ragchat ask`` and ``ragchat chat`` share this, so both show unsupported sentences and notices
the same way: a sentence its citation does not back is marked where the reader sees it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence

import click

from chatbot.schema import Answer, turn_of
from prompts import load
from ragchat.text.display import printable
from vectorstore.request import Turn

Echo = Callable[..., None]


def show(stream: Iterable[str | Answer], echo: Echo) -> Answer:
    """Print pieces as they arrive, then the checked answer's sources; return the ``Answer``."""
    streamed: list[str] = []
    result: Answer | None = None
    for item in stream:
        if isinstance(item, Answer):
            result = item
        else:
            streamed.append(item)
            echo(printable(item, keep_newlines=True), nl=False)  # document and model text: no escapes run
    echo("")
    assert result is not None, "stream_answer always ends with an Answer"
    if "".join(streamed).strip() != result.answer.strip():
        echo(f"\nChecked answer (citations renumbered):\n{printable(result.answer, keep_newlines=True)}")
    echo(printable(details(result), keep_newlines=True))
    if result.answer_span is not None and not result.abstained:  # styled after escaping, so only our bold runs
        echo(f"answer: {click.style(printable(result.answer_span.text), bold=True)} [{result.answer_span.citation}]")
    return result


def details(result: Answer) -> str:
    """Sources, flags and notices under an answer."""
    # a refusal's passages back nothing: they are named as the closest the library came, without a support figure
    lines = [f"{load('closest_passages')}:"] if result.abstained and result.citations else []
    for c in result.citations:
        title = f" - {c.title}" if c.title else ""
        date = f" ({c.date})" if c.date else ""
        where = f"page {c.page}, " if c.page else ""  # a printed page is what a reader of the PDF can find
        support = "" if result.abstained else f", support {c.support:.2f}"
        lines.append(f"[{c.n}] {c.source}{title}{date}, {where}chars {c.start}-{c.end}{support}"
                     f"{', ! holds instructions to an AI model' if c.instruction_like else ''}")
        lines.append(textwrap.indent(textwrap.fill(f"\u201c{c.quote}\u201d", 100), "    "))
    for s in result.sentences:
        if not s.supported:
            lines.append(f"! not supported by its citations: {s.text}")
    if result.dropped_markers:
        lines.append(f"! {result.dropped_markers} citation marker(s) pointed at no passage and were dropped")
    lines.extend(f"note: {n}" for n in result.notices)
    return ("\n" + "\n".join(lines)) if lines else ""


def chat(ask: Callable[[str, Sequence[Turn]], Iterable[str | Answer]], read: Callable[[str], str], echo: Echo,
         keep: int) -> int:
    """A conversation: each question is asked with the turns before it, so follow-ups work.

    ``/reset`` forgets the conversation, ``/quit`` (or end of input) leaves; returns turns asked.
    The last ``keep`` turns are remembered.
    """
    history: list[Turn] = []
    asked = 0
    echo("Ask about your documents. /reset starts over, /quit leaves.")
    while True:
        try:
            question = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            echo("")
            return asked
        if question in ("/quit", "/exit"):
            return asked
        if question == "/reset":
            history.clear()
            echo("(conversation cleared)")
            continue
        if not question:
            continue
        result = show(ask(question, tuple(history)), echo)
        history = (history + [turn_of(result)])[-keep:]
        asked += 1
