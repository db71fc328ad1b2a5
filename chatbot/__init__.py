"""Answering: ``answer`` for a finished, checked answer; ``stream_answer`` to show it as it is made."""

from chatbot.answer import answer, stream_answer

__all__ = ["answer", "stream_answer"]
