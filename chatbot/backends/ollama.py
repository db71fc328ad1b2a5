"""A local Ollama server (``ollama serve``), through ``langchain-ollama``."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from chatbot.backends.chat import ChatBackend, server_status
from chatbot.backends.registry import Input, register
from ragchat.settings import LLMSettings, Settings

_DEFAULT_URL = "http://localhost:11434"  # Ollama's own default


class Ollama(ChatBackend):
    name = "ollama"
    label = "Ollama"
    inputs = (Input("llm_base_url", "Server URL", _DEFAULT_URL), Input("llm_model", "Model"))

    def model(self, llm: LLMSettings) -> BaseChatModel:
        from langchain_ollama import ChatOllama

        return ChatOllama(model=llm.llm_model or "llama3.2", base_url=llm.llm_base_url or None,
                          temperature=llm.llm_temperature, num_predict=llm.llm_max_tokens, num_ctx=llm.llm_context,
                          client_kwargs={"timeout": llm.llm_timeout})

    def status(self, settings: Settings) -> str:
        base = (settings.llm.llm_base_url or _DEFAULT_URL).rstrip("/")
        return server_status(base, f"{base}/api/tags", settings.llm, "models")


register(Ollama())
