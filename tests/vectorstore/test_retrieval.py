"""Hybrid retrieval as a user notices it: exact names found, filters obeyed, follow-ups understood,
and a lexical index that survives restarts and grows with each ingest instead of being rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from langchain_core.runnables import RunnableLambda

from evals.keys import context_holds_answer
from evals.retrieval import hit_at_k, reciprocal_rank
from ingest.pipeline import ingest
from ragchat.settings import Settings
from tests.conftest import CORPUS, ROOT
from vectorstore import lexical
from vectorstore.followups import rewrite
from vectorstore.fusion import fuse
from vectorstore.langchain_retriever import LangChainRetriever
from vectorstore.request import RetrievalRequest as Request
from vectorstore.request import Turn
from vectorstore.retrieval import HybridRetriever, open_retriever
from vectorstore.store import Store, StoreError

EDITORIAL = "004_7c390ca7a747a0fa.txt"  # dated 2023-02-24
BATAUT = "001_a5b27a2b9793a65e.txt"  # dated 2024-06-11
IQBAL = "003_6819430c7062e888.txt"  # undated; the only one naming Barmal
OPINION = "000_b06fe420cd4f60ee.txt"  # undated; explains TAD


@pytest.fixture(scope="module")
def retriever(corpus_settings) -> HybridRetriever:
    return open_retriever(corpus_settings)


# -- fusion ------------------------------------------------------------------------------------
def test_fusion_rewards_agreement_and_respects_weights():
    assert [i for i, _ in fuse([(["a", "b"], 1.0), (["b", "c"], 1.0)], k=60)][0] == "b"
    assert [i for i, _ in fuse([(["a"], 1.0), (["c"], 2.0)], k=60)][0] == "c"


def test_fusion_ties_go_to_the_earlier_list_not_the_id():
    assert [i for i, _ in fuse([(["z"], 1.0), (["a"], 1.0)], k=60)] == ["z", "a"]


# Known misses since chunks are cut in the embedder's wordpieces (chunking v2): the chunk naming
# Barmal is BM25's first but not in dense search's top 30, so reciprocal-rank fusion ranks passages
# both lists hold above it. A heavier BM25 weight was measured and not taken: on 800 SQuAD questions
# context-holds-answer went 0.955 (weight 1.0) -> 0.951 (1.5) -> 0.950 (2.0); see docs/retrieval.md.
_CHUNKING_V2_MISS = pytest.mark.xfail(strict=True, reason="exact name found by BM25 only; fusion ranks "
                                      "passages both searches hold above it (chunking v2)")


@_CHUNKING_V2_MISS
def test_exact_name_dense_search_misses_is_found_first(retriever):
    result = retriever.retrieve("What happened in Barmal?")
    assert result.passages[0].source == IQBAL
    assert "Barmal" in result.passages[0].text


def test_acronym_is_found_first(retriever):
    top = retriever.retrieve("What does TAD stand for?").passages[0]
    assert top.source == OPINION and "temporary admission document" in top.text.lower()


def test_passages_are_document_slices_without_repeated_overlap(retriever):
    result = retriever.retrieve("How many terrorist attacks did Pakistan suffer in 2023?")
    texts = {}
    for p in result.passages:
        texts.setdefault(p.doc_id, retriever.store.document_text(p.doc_id))
        assert p.text == texts[p.doc_id][p.start:p.end]
        assert 0 < p.score and -1 <= p.dense <= 1
    spans = sorted((p.doc_id, p.start, p.end) for p in result.passages)
    assert all(not (a[0] == b[0] and b[1] < a[2]) for a, b in zip(spans, spans[1:]))
    assert sum(len(p.chunk_ids) for p in result.passages) <= retriever.settings.retrieval.top_k


def test_composes_as_a_langchain_retriever(retriever):
    chain = LangChainRetriever(retriever=retriever) | RunnableLambda(lambda docs: docs[0])
    top = chain.invoke("What does TAD stand for?")
    meta = top.metadata
    assert meta["source"] == OPINION and meta["chunk_ids"] and meta["end"] > meta["start"]
    assert "temporary admission document" in top.page_content.lower()


# -- filters -----------------------------------------------------------------------------------
def test_document_filter_by_name_or_id_returns_only_that_document(retriever):
    by_name = retriever.retrieve("How many terrorist attacks were there?", Request(docs=(EDITORIAL,)))
    assert by_name.passages and {p.source for p in by_name.passages} == {EDITORIAL}
    by_id = retriever.retrieve("How many terrorist attacks were there?", Request(docs=(by_name.passages[0].doc_id,)))
    assert {p.source for p in by_id.passages} == {EDITORIAL}


def test_unknown_document_in_filter_is_named(retriever):
    with pytest.raises(StoreError, match="nope.txt"):
        retriever.retrieve("attacks", Request(docs=("nope.txt",)))


def test_date_range_keeps_dated_documents_in_range(retriever):
    assert {p.source for p in retriever.retrieve("terrorist attacks", Request(date_from="2024")).passages} == {BATAUT}
    assert {p.source for p in retriever.retrieve("terrorist attacks", Request(date_to="2023-12-31")).passages} == {EDITORIAL}
    empty = retriever.retrieve("terrorist attacks", Request(date_from="2025-01-01"))
    assert empty.passages == [] and empty.strength == 0.0


# -- follow-ups --------------------------------------------------------------------------------
def test_rewrite_swaps_the_year_and_leaves_standalone_questions_alone():
    earlier = [Turn("How many terrorist attacks did Pakistan suffer in 2023?")]
    assert rewrite("What about 2024?", earlier) == "How many terrorist attacks did Pakistan suffer in 2024?"
    assert rewrite("And in 2024?", earlier) == "How many terrorist attacks did Pakistan suffer in 2024?"  # the README's
    assert rewrite("For March 2024?", earlier) == "How many terrorist attacks did Pakistan suffer in March 2024?"
    standalone = "Which Taliban spokesperson said Pakistan should not blame Afghanistan for its own problems?"
    assert rewrite(standalone, earlier) == standalone
    assert rewrite("What about 2024?", []) == "What about 2024?"


def test_rewrite_carries_the_previous_turns_key_terms():
    earlier = [Turn("What happened at Bisham on March 26, 2024?", "A suicide bomber killed five Chinese engineers [1].")]
    query = rewrite("Who carried it out?", earlier)
    assert query.startswith("Who carried it out?") and "Bisham" in query and "Chinese" in query


def test_followup_retrieves_the_other_years_material(retriever):
    first = retriever.retrieve("How many terrorist attacks did Pakistan suffer in 2023?")
    turn = Turn(first.question, "", tuple(c for p in first.passages for c in p.chunk_ids))
    follow = retriever.retrieve("What about 2024?", Request((turn,)))
    assert "2024" in follow.query
    assert context_holds_answer([p.text for p in follow.passages], [["521"]])  # Pakistan's 2024 attack count


def test_previous_turns_cited_chunks_stay_candidates(retriever):
    """The first question's January chunk is BM25's first and dense search's 17th: it is among the
    passages only since fusion's constant lets a first place count (rrf_k 5, docs/retrieval.md)."""
    first = retriever.retrieve("How many people were killed in militant attacks across Pakistan in January 2023?")
    cited = tuple(c for p in first.passages[:1] for c in p.chunk_ids)
    follow = retriever.retrieve("And how many were injured?", Request((Turn(first.question, "", cited),)))
    assert any(set(cited) & set(p.chunk_ids) for p in follow.passages)
    assert context_holds_answer([p.text for p in follow.passages], [["254"]])


def test_llm_rewriter_is_used_and_a_failing_one_falls_back(retriever):
    earlier = [Turn("Which Afghan district did Pakistan hit with airstrikes in December 2024?")]
    assert retriever.retrieve("Why?", Request.of(earlier), rewriter=lambda q, h: "Why did Pakistan strike Barmal?").query == \
        "Why did Pakistan strike Barmal?"

    def unreachable(question, history):
        raise ConnectionError("LLM down")

    assert "airstrikes" in retriever.retrieve("Why?", Request.of(earlier), rewriter=unreachable).query


# -- evidence strength -------------------------------------------------------------------------
def test_strength_separates_an_answerable_question_from_an_off_topic_one(retriever):
    assert retriever.retrieve("How many children were killed in the 2014 Army Public School attack?").strength > 0.5
    assert retriever.retrieve("How do I cook chicken biryani?").strength < 0.5


# -- metrics and questions file ----------------------------------------------------------------
def test_metrics():
    assert hit_at_k(["a", "b"], {"b"}, 2) and not hit_at_k(["a", "b"], {"b"}, 1)
    assert reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3) and reciprocal_rank(["a"], {"z"}) == 0
    assert context_holds_answer(["Diamer-Basha and DASU dams"], [["Diamer"], ["Dasu"]])
    assert not context_holds_answer(["Diamer only"], [["Diamer"], ["Dasu"]])


# -- the persisted lexical index ---------------------------------------------------------------
_RELOAD = """
import sys
from pathlib import Path
from ragchat.settings import Settings
from vectorstore import lexical
from vectorstore.store import Store
settings = Settings().replace(data_dir=Path(sys.argv[1]))
index = lexical.load_index(settings, Store(settings))
print(index.search("Torkham", 1)[0][0])
"""


def _files(path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in path.iterdir()}


def test_lexical_index_survives_a_restart_and_grows_with_an_incremental_ingest(settings, embeddings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(CORPUS / EDITORIAL, folder)
    ingest([folder], settings, embeddings=embeddings, progress=False)
    path = lexical.index_path(settings)
    saved = _files(path)

    # A new process finds the index on disk and uses it as is: nothing is rewritten.
    found = subprocess.run([sys.executable, "-c", _RELOAD, str(settings.data_dir)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    assert found.startswith(Store(settings).documents().popitem()[0]) and _files(path) == saved

    before = open_retriever(settings)
    shutil.copy(CORPUS / IQBAL, folder)
    ingest([folder], settings, embeddings=embeddings, progress=False)
    # The first document's segment is still there, untouched: the ingest added one, it rebuilt nothing.
    after = _files(path)
    assert {n: t for n, t in saved.items() if n.endswith(".idx")}.items() <= after.items()
    assert lexical.load_index(settings, Store(settings)).fingerprint == Store(settings).fingerprint()
    # A retriever opened before the ingest picks up the new document on its next query.
    assert before.retrieve("What happened in Barmal?").passages[0].source == IQBAL


def test_same_retrieval_against_a_chroma_server(chroma_server, embeddings, tmp_path):
    host, port = chroma_server
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(CORPUS / EDITORIAL, folder)
    settings = Settings().replace(data_dir=tmp_path / "data", chroma_host=host, chroma_port=port, collection="retrieval_test")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    result = open_retriever(settings).retrieve("Which border crossing had been closed?")
    assert result.passages[0].source == EDITORIAL and "Torkham" in result.passages[0].text
    assert lexical.index_path(settings).exists() and not (tmp_path / "data" / "store").exists()
