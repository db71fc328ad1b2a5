"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, hosted APIs (``langchain-openai``)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from chatbot.backends.chat import ChatBackend, server_status
from chatbot.backends.registry import Input, register
from ragchat.settings import LLMSettings, Settings

_DEFAULT_URL = "https://api.openai.com/v1"


class OpenAICompatible(ChatBackend):
    name = "openai"
    label = "OpenAI-compatible server"
    inputs = (Input("llm_base_url", "Server URL", "http://localhost:8000/v1"), Input("llm_model", "Model"))

    def model(self, llm: LLMSettings) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=llm.llm_model or "default", base_url=llm.llm_base_url or None,
                          api_key=llm.llm_api_key or "not-needed", temperature=llm.llm_temperature,
                          max_tokens=llm.llm_max_tokens, timeout=llm.llm_timeout, max_retries=0)

    def status(self, settings: Settings) -> str:
        base = (settings.llm.llm_base_url or _DEFAULT_URL).rstrip("/")
        return server_status(base, f"{base}/models", settings.llm, "data")


register(OpenAICompatible())
