"""Answering: ``pipeline.answer`` for a finished, checked answer; ``pipeline.stream_answer`` to show it as it is made.

Nothing is imported here: ``chatbot.schema`` and ``chatbot.terminal`` must stay light, so a CLI
that only talks to a running server starts without loading the answering engine (1.6 s of imports).
"""
