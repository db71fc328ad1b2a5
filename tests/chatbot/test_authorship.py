"""'Who wrote <title>?' is answered from the document's own byline, quoted and cited, not from
whatever its passages on the subject mention."""

from __future__ import annotations

import pytest

from chatbot.authorship import work_asked
from ingest.pipeline import ingest
from ragchat.library import Library

BYLINED = ("Fishing Quotas in the Baltic Sea\n\nBy Maria Lindqvist\n\nThe council cut the cod quota by 40 percent in "
           "2023. Minister Jonas Berg defended the cut before parliament, and fishermen in Gdansk protested.\n")
UNSIGNED = ("Baltic Sea Shipping Lanes\n\nShipping through the Danish straits rose in 2023. Minister Jonas Berg said "
            "new lanes would open near Gdansk.\n")


@pytest.fixture
def library(settings, tmp_path, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "quotas.txt").write_text(BYLINED, encoding="utf-8")
    (folder / "lanes.txt").write_text(UNSIGNED, encoding="utf-8")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    return Library(settings)


@pytest.mark.parametrize("question", [
    "Who wrote Fishing Quotas in the Baltic Sea?",
    "Who is the author of the article on fishing quotas in the Baltic?",
    "By whom was the report on Baltic fishing quotas written?",
])
def test_the_author_is_quoted_from_the_byline_of_the_document_the_title_names(library, question):
    answer = library.ask(question)
    assert not answer.abstained
    assert answer.answer_span is not None and answer.answer_span.text == "Maria Lindqvist"
    [citation] = answer.citations
    assert citation.source == "quotas.txt" and citation.quote == "By Maria Lindqvist"
    assert BYLINED[citation.start:citation.end] == citation.quote  # offsets point at the byline


def test_a_document_that_names_no_author_is_an_honest_refusal(library):
    answer = library.ask("Who wrote Baltic Sea Shipping Lanes?")
    assert answer.abstained and answer.answer.startswith("The documents don't say who wrote Baltic Sea Shipping Lanes")
    assert "Jonas Berg" not in answer.answer  # the minister the text mentions is not its author


def test_a_question_about_writing_that_names_no_title_takes_the_ordinary_path(library):
    assert work_asked("Who wrote to parliament about the cod quota?") == "to parliament about the cod quota"
    answer = library.ask("Who wrote to parliament about the cod quota?")  # no title holds "parliament"
    assert "Maria Lindqvist" not in answer.answer and not any("names its author" in n for n in answer.notices)
