"""What every LLM backend shares: the fenced prompt, streaming with a deadline, parsing [n] markers.

Each LLM backend is a LangChain chat model (``BaseChatModel.stream``), so the answering code has
one path. Whatever goes wrong inside one (unreachable server, missing model file, timeout)
surfaces as ``BackendError``, which the pipeline turns into an extractive answer with a visible
notice. Passages go into the prompt fenced as data, so text inside a document cannot pose as
instructions.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
from collections.abc import Iterator, Sequence
from functools import lru_cache

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from chatbot.backends.budget import fit
from chatbot.backends.registry import BackendError, Draft, DraftRequest, Input, Rewriter
from chatbot.policy import REFUSAL, says_refusal
from chatbot.render import split_marked
from prompts import load
from ragchat.settings import LLMSettings, Settings
from vectorstore.passages import Passage
from vectorstore.request import Turn

_FENCE = "passages"


class ChatBackend:
    """Base of the LLM backends: a subclass names itself and says how to build its chat model."""

    name: str
    label: str
    inputs: tuple[Input, ...]

    def model(self, llm: LLMSettings) -> BaseChatModel:
        raise NotImplementedError

    def status(self, settings: Settings) -> str:
        raise NotImplementedError

    def draft(self, request: DraftRequest) -> Iterator[str | Draft]:
        """Answer tokens as the model produces them, then the parsed ``Draft``; ``BackendError`` on
        failure or after ``llm_timeout``. The prompt is fitted to the context window first (``budget``)."""
        llm = request.settings.llm
        model = self._model(llm)
        try:
            prompt = fit(lambda passages, turns: messages_for(request.question, passages, turns, len(turns)),
                                request.passages, request.history, llm)
        except ValueError as exc:
            raise BackendError(str(exc)) from None
        deadline = time.monotonic() + llm.llm_timeout
        pieces: list[str] = []
        try:
            for chunk in model.stream(prompt.messages):
                if time.monotonic() > deadline:
                    raise BackendError(f"no complete answer within {llm.llm_timeout:g} s")
                if isinstance(chunk.content, str) and chunk.content:
                    pieces.append(chunk.content)
                    yield chunk.content
        except BackendError:
            raise
        except Exception as exc:  # every client library has its own errors; the user needs one line
            raise BackendError(one_line(exc)) from exc
        yield dataclasses.replace(parse("".join(pieces), prompt.passages), notices=prompt.notices)

    def rewriter(self, settings: Settings) -> Rewriter:
        """A follow-up rewriter for retrieval, using the same model."""
        llm = settings.llm

        def rewrite(question: str, history: Sequence[Turn]) -> str:
            lines = [f"User: {t.question}\nAssistant: {t.answer}" for t in history[-llm.llm_history_turns:]]
            prompt = load("rewrite").format(history="\n".join(lines), question=question)
            try:
                reply = self._model(llm).invoke([HumanMessage(prompt)])
            except Exception as exc:
                raise BackendError(one_line(exc)) from exc
            text = reply.content if isinstance(reply.content, str) else ""
            return text.strip().splitlines()[0].strip(" \"'") if text.strip() else question

        return rewrite

    def _model(self, llm: LLMSettings) -> BaseChatModel:
        return _cached_model(self, llm)


@lru_cache(maxsize=4)
def _cached_model(backend: ChatBackend, llm: LLMSettings) -> BaseChatModel:
    return backend.model(llm)


def messages_for(question: str, passages: Sequence[Passage], history: Sequence[Turn] = (),
                 turns: int = 2) -> list[BaseMessage]:
    """The answer prompt: numbered passages fenced as data in the system message, the question as the user's."""
    blocks = []
    for n, p in enumerate(passages, 1):
        label = f"{p.source}{f' - {p.title}' if p.title else ''}"
        blocks.append(f"[{n}] ({_defused(label)})\n{_defused(p.text)}")
    system = load("answer").format(passages="\n\n".join(blocks), refusal=REFUSAL)
    messages: list[BaseMessage] = [SystemMessage(system)]
    for turn in history[-turns:]:
        messages += [HumanMessage(turn.question), AIMessage(turn.answer)]
    return messages + [HumanMessage(question)]


def parse(text: str, passage_count: int) -> Draft:
    """Sentences with the passage indexes they cite; markers outside 1..passage_count are dropped."""
    drafted, dropped = [], 0
    for sentence in split_marked(text):
        valid = [n - 1 for n in sentence.markers if 1 <= n <= passage_count]
        dropped += len(sentence.markers) - len(valid)
        drafted.append((sentence.text, valid))
    return Draft(drafted, dropped, refused=not drafted or says_refusal(text), streamed=True)


def _defused(text: str) -> str:
    """Document text that cannot close or reopen the fence around it."""
    return text.replace(f"<{_FENCE}>", f"<{_FENCE}\u200b>").replace(f"</{_FENCE}>", f"</{_FENCE}\u200b>")


def probe_models(url: str, api_key: str, listing_key: str) -> list[str]:
    """Model names a server lists (Ollama's /api/tags, OpenAI's /models); raises on any failure."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    with urllib.request.urlopen(request, timeout=3) as response:
        listing = json.loads(response.read() or b"{}")
    return [m.get("name") or m.get("id") or "" for m in listing.get(listing_key, [])]


def server_status(base: str, url: str, llm: LLMSettings, listing_key: str) -> str:
    """The status line of a backend that talks to a server listing its models."""
    try:
        names = probe_models(url, llm.llm_api_key, listing_key)
    except Exception as exc:  # refused, timed out, not JSON: all mean "not usable now"
        return f"unreachable at {base} ({one_line(exc)}); answers fall back to extractive"
    wanted = llm.llm_model
    if wanted and names and not any(n == wanted or n.split(":")[0] == wanted for n in names):
        return f"reachable at {base}, but it has no model {wanted!r} (it has: {', '.join(names[:5])})"
    return f"ready: {wanted or (names[0] if names else 'server default')} at {base}"


def one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
