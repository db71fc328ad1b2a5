"""The naive pipeline a user would copy from the LangChain RAG tutorial: the baseline to beat.

RecursiveCharacterTextSplitter(1000, 200) over the same cleaned document texts the store holds,
all-MiniLM-L6-v2, ``langchain_chroma.Chroma`` with its default settings, ``similarity_search``
top 4. It lives in its own collection (``<collection>_baseline``) of the same Chroma client, so
both systems read the same documents from the same place, and it is rebuilt only when the
store's documents change (the store fingerprint is kept in the collection metadata).
"""

from __future__ import annotations

from functools import lru_cache

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ragchat.settings import Settings
from vectorstore.embeddings import embeddings_for
from vectorstore.passages import Passage
from vectorstore.store import Store

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 4  # the tutorial's numbers; they define the baseline


def baseline_retrieve(question: str, settings: Settings) -> list[Passage]:
    """Top-4 similarity search of the tutorial pipeline; follow-ups get no history, as in the tutorial."""
    hits = _open(settings).similarity_search_with_score(question, k=TOP_K)
    return [_passage(doc, distance) for doc, distance in hits]


@lru_cache(maxsize=4)
def _open(settings: Settings) -> Chroma:
    store = Store(settings)
    embeddings = embeddings_for(settings)
    name = f"{settings.store.collection}_baseline"
    fingerprint = store.fingerprint()
    existing = {c.name for c in store.client.list_collections()}
    if name in existing and (store.client.get_collection(name).metadata or {}).get("fingerprint") != fingerprint:
        store.client.delete_collection(name)
        existing.discard(name)
    vectorstore = Chroma(collection_name=name, embedding_function=embeddings, client=store.client,
                         collection_metadata={"fingerprint": fingerprint})
    if name not in existing:
        vectorstore.add_documents(_split(store))
    return vectorstore


def _split(store: Store) -> list[Document]:
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    documents = []
    for record in sorted(store.documents().values(), key=lambda r: r.source):
        meta = {"doc_id": record.doc_id, "source": record.source, "title": record.title, "date": record.date}
        documents += splitter.create_documents([store.document_text(record.doc_id)], metadatas=[meta])
    for n, doc in enumerate(documents):
        doc.id = f"{doc.metadata['doc_id']}:b{n:04d}"
    return documents


def _passage(doc: Document, distance: float) -> Passage:
    """Chroma's default space is squared L2; on unit vectors cosine = 1 - d/2."""
    meta = doc.metadata
    start = int(meta["start_index"])
    similarity = 1.0 - distance / 2
    return Passage(chunk_ids=(doc.id or "",), doc_id=meta["doc_id"], source=meta["source"], title=meta["title"],
                   date=meta["date"], text=doc.page_content, start=start, end=start + len(doc.page_content),
                   score=similarity, dense=similarity)
