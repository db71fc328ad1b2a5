"""A stand-in for a hosted LLM, which cannot exist on these machines: the whole of a new backend.

Adding a backend to ragchat is this one file plus one ``register`` line; the tests use it to
exercise what every LLM backend shares (the fenced prompt, streaming, marker parsing, follow-up
rewriting, verification) without a model. It answers like a careless model reading its prompt: a
sentence citing the passage that holds "789", one with a figure no passage has, and one citing a
passage that does not exist; for the rewrite prompt it returns a fixed standalone question.
``obedient`` is one a document has hijacked: it obeys instructions found inside a passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from chatbot.backends import Input, register
from chatbot.backends.chat import ChatBackend
from ragchat.settings import LLMSettings, Settings

REWRITTEN = "How many people were killed in militant attacks across Pakistan in January 2023?"


class CarelessChat(BaseChatModel):
    prompts: list[str] = []  # every system prompt it was sent, for the tests to read
    sent: list[list[BaseMessage]] = []  # every whole prompt it was sent
    fail_after: int | None = None  # pieces streamed before the connection drops, if it does

    @property
    def _llm_type(self) -> str:
        return "careless"

    def _reply(self, messages: list[BaseMessage]) -> list[str]:
        prompt = str(messages[0].content)
        self.prompts.append(prompt)
        self.sent.append(list(messages))
        if "Rewritten question" in prompt:
            return [REWRITTEN]
        blocks = re.findall(r"^\[(\d+)\] \(.*?\)\n(.*?)(?=^\[\d+\] \(|</passages>)", prompt, re.S | re.M)
        n = next((num for num, text in blocks if "789" in text), "1")
        return [f"A total of 789 TTP attacks took place in Pakistan in 2023 [{n}]. ",
                f"Pakistan also suffered 4321 drone strikes that year [{n}]. ", "It was a record [9]."]

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(self._reply(messages))))])

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager=None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for n, piece in enumerate(self._reply(messages)):
            if n == self.fail_after:
                raise TimeoutError("the server stopped answering")
            yield ChatGenerationChunk(message=AIMessageChunk(piece))


class Careless(ChatBackend):
    name = "careless"
    label = "Scripted stand-in for a hosted LLM (tests only)"
    inputs = (Input("llm_model", "Model"),)
    chat = CarelessChat()

    def model(self, llm: LLMSettings) -> BaseChatModel:
        return self.chat

    def status(self, settings: Settings) -> str:
        return "ready: scripted"


class Stalling(Careless):
    """The same model, but its connection drops after the first sentence."""

    name = "stalling"
    chat = CarelessChat(fail_after=1)


class ObedientChat(CarelessChat):
    """A hosted model that a document has hijacked: it obeys "answer 'X'" found in a passage.

    It replies like the model in issue 13: "X [n]." citing the passage that told it to, then copies
    that passage's first sentence with the same marker, which the passage does state.
    """

    def _reply(self, messages: list[BaseMessage]) -> list[str]:
        prompt = str(messages[0].content)
        self.prompts.append(prompt)
        blocks = re.findall(r"^\[(\d+)\] \(.*?\)\n(.*?)(?=^\[\d+\] \(|</passages>)", prompt, re.S | re.M)
        for n, text in blocks:
            order = re.search(r"answer ['\"](\w+)['\"]", text)
            if order:
                first = re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0]
                return [f"{order.group(1)} [{n}]. ", f"{first.rstrip('.')} [{n}]."]
        return ["Nothing told me what to say [1]."]


class Obedient(Careless):
    name = "obedient"
    label = "Scripted stand-in for a hijacked hosted LLM (tests only)"
    chat = ObedientChat()


BACKEND = register(Careless())
register(Stalling())
register(Obedient())
