"""Text helpers every layer shares: sentences with offsets, index terms, dates, facts, safe display.

A leaf package: it imports nothing else from the project, so ingest, vectorstore and chatbot can
all use it without importing each other, and they agree on what a sentence, a term or a name is.
"""
