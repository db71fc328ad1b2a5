"""The hybrid retriever as a LangChain ``BaseRetriever``, for use in chains (``retriever | ...``).

Kept apart from the retriever itself so the search code is plain Python and LangChain's pydantic
model is only an adapter: passages become ``Document``s with their offsets in the metadata.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from ragchat.settings import Settings
from vectorstore.passages import Passage
from vectorstore.retrieval import HybridRetriever, open_retriever
from vectorstore.request import RetrievalRequest


class LangChainRetriever(BaseRetriever):
    retriever: HybridRetriever
    request: RetrievalRequest = RetrievalRequest()

    model_config = {"arbitrary_types_allowed": True}

    @classmethod
    def open(cls, settings: Settings, request: RetrievalRequest = RetrievalRequest()) -> "LangChainRetriever":
        return cls(retriever=open_retriever(settings), request=request)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(p) for p in self.retriever.retrieve(query, self.request).passages]


def to_document(passage: Passage) -> Document:
    return Document(page_content=passage.text, metadata={
        "chunk_id": passage.chunk_ids[0], "chunk_ids": list(passage.chunk_ids), "doc_id": passage.doc_id,
        "source": passage.source, "title": passage.title, "date": passage.date, "start": passage.start,
        "end": passage.end, "score": passage.score, "dense": passage.dense, "page": passage.page})
