"""LLM backends behind LangChain's chat-model interface: Ollama, any OpenAI-compatible server, llama.cpp.

All three stream tokens through ``BaseChatModel.stream``, so the answering code has one path.
Whatever goes wrong inside a backend (unreachable server, missing model file, timeout) surfaces
as ``BackendError``, which the caller turns into an extractive answer with a visible notice.
Passages go into the prompt fenced as data, so text inside a document cannot pose as instructions.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ragchat.settings import Settings
from vectorstore.followups import Turn

_FENCE = "passages"
_HISTORY_TURNS = 2  # earlier turns the model sees; retrieval already folded older context into the query


class BackendError(Exception):
    """An LLM backend could not answer; the message says why in one line."""


def load_prompt(name: str) -> str:
    return files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")


def messages_for(question: str, passages: Sequence, history: Sequence[Turn] = ()) -> list[BaseMessage]:
    """The answer prompt: numbered passages fenced as data in the system message, the question as the user's."""
    blocks = []
    for n, p in enumerate(passages, 1):
        label = f"{p.source}{f' - {p.title}' if p.title else ''}"
        blocks.append(f"[{n}] ({_defused(label)})\n{_defused(p.text)}")
    system = load_prompt("answer").format(passages="\n\n".join(blocks))
    messages: list[BaseMessage] = [SystemMessage(system)]
    for turn in history[-_HISTORY_TURNS:]:
        messages += [HumanMessage(turn.question), AIMessage(turn.answer)]
    return messages + [HumanMessage(question)]


def _defused(text: str) -> str:
    """Document text that cannot close or reopen the fence around it."""
    return text.replace(f"<{_FENCE}>", f"<{_FENCE}\u200b>").replace(f"</{_FENCE}>", f"</{_FENCE}\u200b>")


def stream_answer_text(backend: str, settings: Settings, question: str, history: Sequence[Turn],
                       passages: Sequence) -> Iterator[str]:
    """Answer tokens as the model produces them; ``BackendError`` on failure or after ``llm_timeout``."""
    model = chat_model(backend, settings)
    deadline = time.monotonic() + settings.llm_timeout
    try:
        for chunk in model.stream(messages_for(question, passages, history)):
            if time.monotonic() > deadline:
                raise BackendError(f"no complete answer within {settings.llm_timeout:g} s")
            if isinstance(chunk.content, str) and chunk.content:
                yield chunk.content
    except BackendError:
        raise
    except Exception as exc:  # every client library has its own errors; the user needs one line
        raise BackendError(_one_line(exc)) from exc


def rewriter(backend: str, settings: Settings) -> Callable[[str, Sequence[Turn]], str]:
    """A follow-up rewriter for ``HybridRetriever.retrieve(rewriter=...)``, using the same model."""

    def rewrite(question: str, history: Sequence[Turn]) -> str:
        lines = [f"User: {t.question}\nAssistant: {t.answer}" for t in history[-_HISTORY_TURNS:]]
        prompt = load_prompt("rewrite").format(history="\n".join(lines), question=question)
        try:
            reply = chat_model(backend, settings).invoke([HumanMessage(prompt)])
        except Exception as exc:
            raise BackendError(_one_line(exc)) from exc
        text = reply.content if isinstance(reply.content, str) else ""
        return text.strip().splitlines()[0].strip(" \"'") if text.strip() else question

    return rewrite


def backend_status(backend: str, settings: Settings) -> str:
    """One line for the settings panel: can this backend answer right now, and if not, what to do.

    A cheap probe (the server's model list, or the GGUF file) rather than a generation, so the
    panel can refresh it often; whatever it says, a failing backend still falls back to extractive.
    """
    if backend == "extractive":
        return "ready: answers with sentences quoted from the documents"
    if backend == "llamacpp":
        path = Path(settings.llm_model).expanduser() if settings.llm_model else None
        if path is None or not path.is_file():
            return f"no GGUF file at {settings.llm_model or '(unset)'}: set RAGCHAT_LLM_MODEL to a .gguf path"
        try:
            import llama_cpp  # noqa: F401  (an optional extra)
        except ImportError:
            return "llama-cpp-python is not installed: pip install 'ragchat[llamacpp]'"
        return f"ready: {path.name}"
    if backend not in ("ollama", "openai"):
        return f"unknown backend {backend!r}"
    base = (settings.llm_base_url or ("http://localhost:11434" if backend == "ollama" else "https://api.openai.com/v1")).rstrip("/")
    url = f"{base}/api/tags" if backend == "ollama" else f"{base}/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            listing = json.loads(response.read() or b"{}")
    except Exception as exc:  # refused, timed out, not JSON: all mean "not usable now"
        return f"unreachable at {base} ({_one_line(exc)}); answers fall back to extractive"
    names = [m.get("name") or m.get("id") or "" for m in listing.get("models" if backend == "ollama" else "data", [])]
    wanted = settings.llm_model
    if wanted and names and not any(n == wanted or n.split(":")[0] == wanted for n in names):
        return f"reachable at {base}, but it has no model {wanted!r} (it has: {', '.join(names[:5])})"
    return f"ready: {wanted or (names[0] if names else 'server default')} at {base}"


@lru_cache(maxsize=4)
def chat_model(backend: str, settings: Settings) -> BaseChatModel:
    """The LangChain chat model for a backend name, configured from the settings."""
    if backend == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model or "llama3.2", base_url=settings.llm_base_url or None,
                          temperature=settings.llm_temperature, num_predict=settings.llm_max_tokens,
                          client_kwargs={"timeout": settings.llm_timeout})
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=settings.llm_model or "default", base_url=settings.llm_base_url or None,
                          api_key=settings.llm_api_key or "not-needed", temperature=settings.llm_temperature,
                          max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout, max_retries=0)
    if backend == "llamacpp":
        if not settings.llm_model or not Path(settings.llm_model).expanduser().is_file():
            raise BackendError(f"llamacpp needs RAGCHAT_LLM_MODEL set to a GGUF file (got {settings.llm_model!r})")
        return LlamaCppChat(model_path=str(Path(settings.llm_model).expanduser()), n_ctx=settings.llm_context,
                            max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature)
    raise BackendError(f"unknown LLM backend {backend!r}")


class LlamaCppChat(BaseChatModel):
    """A local GGUF model through llama-cpp-python, as a LangChain chat model.

    langchain-community has one, but it is a large dependency for two methods; this one uses the
    GGUF's own chat template via ``create_chat_completion``.
    """

    model_path: str
    n_ctx: int = 4096
    max_tokens: int = 300
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama, lock = _llama(self.model_path, self.n_ctx)
        with lock:  # one context per model: concurrent generations would corrupt each other
            for part in llama.create_chat_completion(messages=[_role(m) for m in messages], stream=True, stop=stop,
                                                     max_tokens=self.max_tokens, temperature=self.temperature):
                delta = part["choices"][0]["delta"].get("content")
                if delta:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk


@lru_cache(maxsize=1)
def _llama(path: str, n_ctx: int):
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_threads=2, verbose=False), threading.Lock()


def _role(message: BaseMessage) -> dict[str, str]:
    role = {"system": "system", "human": "user", "ai": "assistant"}.get(message.type, "user")
    return {"role": role, "content": message.content if isinstance(message.content, str) else str(message.content)}


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
