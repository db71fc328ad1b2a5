"""Answering: ``pipeline.answer`` for a finished, checked answer; ``pipeline.stream_answer`` to show it as it is made."""
