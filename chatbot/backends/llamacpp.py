"""A local GGUF model run in-process by llama-cpp-python (the optional ``llamacpp`` extra)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from chatbot.backends.chat import ChatBackend
from chatbot.backends.registry import BackendError, Input, register
from ragchat.settings import LLMSettings, Settings


class LlamaCpp(ChatBackend):
    name = "llamacpp"
    label = "Local GGUF model (llama.cpp)"
    inputs = (Input("llm_model", "GGUF file", "/path/to/model.gguf"),)

    def model(self, llm: LLMSettings) -> BaseChatModel:
        if not llm.llm_model or not Path(llm.llm_model).expanduser().is_file():
            raise BackendError(f"llamacpp needs RAGCHAT_LLM_MODEL set to a GGUF file (got {llm.llm_model!r})")
        return LlamaCppChat(model_path=str(Path(llm.llm_model).expanduser()), n_ctx=llm.llm_context,
                            n_threads=llm.llm_threads, max_tokens=llm.llm_max_tokens, temperature=llm.llm_temperature)

    def status(self, settings: Settings) -> str:
        model = settings.llm.llm_model
        path = Path(model).expanduser() if model else None
        if path is None or not path.is_file():
            return f"no GGUF file at {model or '(unset)'}: set RAGCHAT_LLM_MODEL to a .gguf path"
        try:
            import llama_cpp  # noqa: F401  (an optional extra)
        except ImportError:
            return "llama-cpp-python is not installed: pip install 'ragchat[llamacpp]'"
        return f"ready: {path.name}"


class LlamaCppChat(BaseChatModel):
    """A local GGUF model through llama-cpp-python, as a LangChain chat model.

    langchain-community has one, but it is a large dependency for two methods; this one uses the
    GGUF's own chat template via ``create_chat_completion``.
    """

    model_path: str
    n_ctx: int
    n_threads: int
    max_tokens: int
    temperature: float

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama, lock = _llama(self.model_path, self.n_ctx, self.n_threads)
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
def _llama(path: str, n_ctx: int, n_threads: int):
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False), threading.Lock()


def _role(message: BaseMessage) -> dict[str, str]:
    role = {"system": "system", "human": "user", "ai": "assistant"}.get(message.type, "user")
    return {"role": role, "content": message.content if isinstance(message.content, str) else str(message.content)}


register(LlamaCpp())
